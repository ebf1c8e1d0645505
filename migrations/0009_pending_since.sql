ALTER TABLE `hostnames` ADD `pending_since` integer;--> statement-breakpoint
-- Hostnames already pending count from when they were attached.
UPDATE `hostnames` SET `pending_since` = `created_at` WHERE `status` = 'pending';
