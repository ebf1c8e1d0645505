DROP INDEX `hostnames_status_idx`;--> statement-breakpoint
ALTER TABLE `hostnames` ADD `check_count` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `hostnames` ADD `next_check_at` integer;--> statement-breakpoint
CREATE INDEX `hostnames_due_idx` ON `hostnames` (`next_check_at`);