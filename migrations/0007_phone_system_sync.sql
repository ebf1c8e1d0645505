ALTER TABLE `phone_systems` ADD `sync_source` text DEFAULT 'app_assignments' NOT NULL;--> statement-breakpoint
ALTER TABLE `phone_systems` ADD `sync_group_id` text;--> statement-breakpoint
ALTER TABLE `phone_systems` ADD `last_sync_at` integer;--> statement-breakpoint
ALTER TABLE `phone_systems` ADD `last_sync_status` text;--> statement-breakpoint
ALTER TABLE `phone_systems` ADD `last_sync_error` text;--> statement-breakpoint
ALTER TABLE `phone_systems` ADD `last_sync_counts` text;--> statement-breakpoint
ALTER TABLE `phone_systems` ADD `next_sync_at` integer;--> statement-breakpoint
CREATE INDEX `phone_systems_sync_due_idx` ON `phone_systems` (`next_sync_at`);