CREATE TABLE `sign_ins` (
	`id` text PRIMARY KEY NOT NULL,
	`expires_at` integer NOT NULL
);
