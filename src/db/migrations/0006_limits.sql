ALTER TABLE `invocations` ADD `owner` text;--> statement-breakpoint
CREATE INDEX `invocations_owner_timestamp` ON `invocations` (`owner`,`timestamp`);--> statement-breakpoint
CREATE INDEX `conversations_updated` ON `conversations` (`updated_at`);