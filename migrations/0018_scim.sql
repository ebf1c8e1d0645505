CREATE TABLE `scim_tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`phone_system_id` text NOT NULL,
	`prefix` text NOT NULL,
	`secret_hash` text NOT NULL,
	`label` text,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	`last_used_at` integer,
	`revoked_at` integer,
	FOREIGN KEY (`phone_system_id`) REFERENCES `phone_systems`(`id`) ON UPDATE no action ON DELETE cascade
);--> statement-breakpoint
CREATE UNIQUE INDEX `scim_tokens_secret_hash_uq` ON `scim_tokens` (`secret_hash`);--> statement-breakpoint
CREATE INDEX `scim_tokens_ps_idx` ON `scim_tokens` (`phone_system_id`);--> statement-breakpoint
CREATE TABLE `scim_users` (
	`id` text PRIMARY KEY NOT NULL,
	`phone_system_id` text NOT NULL,
	`user_name` text NOT NULL,
	`user_name_key` text NOT NULL,
	`external_id` text,
	`active` integer NOT NULL,
	`display_name` text,
	`email` text,
	`resource` text NOT NULL,
	`version` integer DEFAULT 1 NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`phone_system_id`) REFERENCES `phone_systems`(`id`) ON UPDATE no action ON DELETE cascade
);--> statement-breakpoint
CREATE UNIQUE INDEX `scim_users_ps_user_name_uq` ON `scim_users` (`phone_system_id`,`user_name_key`);--> statement-breakpoint
CREATE INDEX `scim_users_ps_external_idx` ON `scim_users` (`phone_system_id`,`external_id`);--> statement-breakpoint
CREATE INDEX `scim_users_ps_created_idx` ON `scim_users` (`phone_system_id`,`created_at`,`id`);--> statement-breakpoint
CREATE TABLE `scim_groups` (
	`id` text PRIMARY KEY NOT NULL,
	`phone_system_id` text NOT NULL,
	`display_name` text NOT NULL,
	`external_id` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`phone_system_id`) REFERENCES `phone_systems`(`id`) ON UPDATE no action ON DELETE cascade
);--> statement-breakpoint
CREATE INDEX `scim_groups_ps_name_idx` ON `scim_groups` (`phone_system_id`,`display_name` COLLATE NOCASE);--> statement-breakpoint
CREATE INDEX `scim_groups_ps_external_idx` ON `scim_groups` (`phone_system_id`,`external_id`);--> statement-breakpoint
CREATE INDEX `scim_groups_ps_created_idx` ON `scim_groups` (`phone_system_id`,`created_at`,`id`);--> statement-breakpoint
CREATE TABLE `scim_group_members` (
	`group_id` text NOT NULL,
	`user_id` text NOT NULL,
	PRIMARY KEY(`group_id`, `user_id`),
	FOREIGN KEY (`group_id`) REFERENCES `scim_groups`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`user_id`) REFERENCES `scim_users`(`id`) ON UPDATE no action ON DELETE cascade
);--> statement-breakpoint
CREATE INDEX `scim_group_members_user_idx` ON `scim_group_members` (`user_id`);
