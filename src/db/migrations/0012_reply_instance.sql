ALTER TABLE `messages` ADD `instance` text;--> statement-breakpoint
CREATE INDEX `messages_streaming` ON `messages` (`instance`) WHERE "messages"."status" = 'streaming';