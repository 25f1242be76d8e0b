CREATE TABLE `invocations` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`timestamp` integer NOT NULL,
	`latency_ms` integer NOT NULL,
	`success` integer NOT NULL,
	`model_id` text NOT NULL,
	`time_to_first_token_ms` integer,
	`input_tokens` integer,
	`output_tokens` integer,
	`error_type` text,
	`attempts` integer DEFAULT 1 NOT NULL,
	`outcome` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `invocations_timestamp` ON `invocations` (`timestamp`);