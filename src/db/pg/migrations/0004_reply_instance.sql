ALTER TABLE "messages" ADD COLUMN "instance" text;--> statement-breakpoint
CREATE INDEX "messages_streaming" ON "messages" USING btree ("instance") WHERE "messages"."status" = 'streaming';