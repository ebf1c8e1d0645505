CREATE TABLE `connect_links` (
	`id` text PRIMARY KEY NOT NULL,
	`token_hash` text NOT NULL,
	`phone_system_id` text NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`used_at` integer,
	FOREIGN KEY (`phone_system_id`) REFERENCES `phone_systems`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `connect_links_token_uq` ON `connect_links` (`token_hash`);--> statement-breakpoint
CREATE INDEX `connect_links_ps_idx` ON `connect_links` (`phone_system_id`);--> statement-breakpoint
CREATE TABLE `connect_sessions` (
	`id` text PRIMARY KEY NOT NULL,
	`link_id` text NOT NULL,
	`state_hash` text NOT NULL,
	`phase` text NOT NULL,
	`secrets` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	FOREIGN KEY (`link_id`) REFERENCES `connect_links`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `connect_sessions_state_uq` ON `connect_sessions` (`state_hash`);--> statement-breakpoint
CREATE INDEX `connect_sessions_expires_idx` ON `connect_sessions` (`expires_at`);--> statement-breakpoint
CREATE TABLE `tenant_claims` (
	`tid` text PRIMARY KEY NOT NULL,
	`partner_id` text NOT NULL,
	`status` text NOT NULL,
	`proof` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`partner_id`) REFERENCES `organizations`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
ALTER TABLE `hostnames` ADD `redirect_uri_app_id` text;--> statement-breakpoint
ALTER TABLE `hostnames` ADD `redirect_uri_checked_at` integer;--> statement-breakpoint
ALTER TABLE `phone_systems` ADD `tenant_status` text DEFAULT 'unverified' NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX `microsoft_integrations_client_uq` ON `microsoft_integrations` (`client_id`);