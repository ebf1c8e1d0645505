ALTER TABLE `sign_in_attempts` ADD `event_id` text;--> statement-breakpoint
CREATE UNIQUE INDEX `sign_in_attempts_event_uq` ON `sign_in_attempts` (`event_id`);