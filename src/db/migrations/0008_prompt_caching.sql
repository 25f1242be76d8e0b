ALTER TABLE `conversations` ADD `prompt_caching` integer DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE `invocations` ADD `cache_read_input_tokens` integer;--> statement-breakpoint
ALTER TABLE `invocations` ADD `cache_write_input_tokens` integer;