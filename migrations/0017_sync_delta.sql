CREATE TABLE `sync_delta_state` (
	`phone_system_id` text PRIMARY KEY NOT NULL,
	`scope` text NOT NULL,
	`links` text NOT NULL,
	`links_at` integer NOT NULL,
	`list_version` integer NOT NULL,
	`full_at` integer NOT NULL,
	FOREIGN KEY (`phone_system_id`) REFERENCES `phone_systems`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `sync_delta_members` (
	`phone_system_id` text NOT NULL,
	`user_id` text NOT NULL,
	`group_id` text NOT NULL,
	PRIMARY KEY(`phone_system_id`, `user_id`, `group_id`),
	FOREIGN KEY (`phone_system_id`) REFERENCES `phone_systems`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `sync_delta_members_direct_idx` ON `sync_delta_members` (`phone_system_id`,`user_id`) WHERE `group_id` = '';
--> statement-breakpoint
CREATE TABLE `sync_delta_disabled` (
	`phone_system_id` text NOT NULL,
	`user_id` text NOT NULL,
	PRIMARY KEY(`phone_system_id`, `user_id`),
	FOREIGN KEY (`phone_system_id`) REFERENCES `phone_systems`(`id`) ON UPDATE no action ON DELETE cascade
);
