CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`prefix` text NOT NULL,
	`secret_hash` text NOT NULL,
	`label` text,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	`last_used_at` integer,
	`revoked_at` integer,
	FOREIGN KEY (`org_id`) REFERENCES `organizations`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_secret_hash_uq` ON `api_keys` (`secret_hash`);--> statement-breakpoint
CREATE INDEX `api_keys_org_idx` ON `api_keys` (`org_id`);--> statement-breakpoint
CREATE TABLE `audit_log` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at` integer NOT NULL,
	`actor` text NOT NULL,
	`org_id` text,
	`action` text NOT NULL,
	`target_type` text NOT NULL,
	`target_id` text NOT NULL,
	`summary` text
);
--> statement-breakpoint
CREATE INDEX `audit_log_org_idx` ON `audit_log` (`org_id`,`id`);--> statement-breakpoint
CREATE INDEX `audit_log_target_idx` ON `audit_log` (`target_type`,`target_id`);--> statement-breakpoint
CREATE TABLE `batch_guard` (
	`ok` integer NOT NULL,
	CONSTRAINT "batch_guard_ok" CHECK("batch_guard"."ok" = 1)
);
--> statement-breakpoint
CREATE TABLE `hostnames` (
	`hostname` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`kind` text NOT NULL,
	`status` text NOT NULL,
	`status_detail` text,
	`verification` text,
	`callback_mode` text DEFAULT 'central' NOT NULL,
	`redirect_uri_registered` integer DEFAULT false NOT NULL,
	`cloudflare_id` text,
	`checked_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`org_id`) REFERENCES `organizations`(`id`) ON UPDATE no action ON DELETE restrict,
	CONSTRAINT "hostnames_lowercase" CHECK("hostnames"."hostname" = lower("hostnames"."hostname"))
);
--> statement-breakpoint
CREATE INDEX `hostnames_org_idx` ON `hostnames` (`org_id`);--> statement-breakpoint
CREATE INDEX `hostnames_status_idx` ON `hostnames` (`status`,`checked_at`);--> statement-breakpoint
CREATE TABLE `organizations` (
	`id` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`parent_id` text,
	`structure` text,
	`name` text NOT NULL,
	`display_name` text,
	`logo_url` text,
	`accent_color` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`parent_id`) REFERENCES `organizations`(`id`) ON UPDATE no action ON DELETE restrict,
	CONSTRAINT "organizations_tree_shape" CHECK(("organizations"."kind" = 'partner' AND "organizations"."parent_id" IS NULL AND "organizations"."structure" IS NULL)
       OR ("organizations"."kind" = 'customer' AND "organizations"."parent_id" IS NOT NULL AND "organizations"."structure" IN ('nested', 'flat')))
);
--> statement-breakpoint
CREATE INDEX `organizations_parent_idx` ON `organizations` (`parent_id`);--> statement-breakpoint
CREATE TABLE `phone_systems` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`name` text NOT NULL,
	`web_client_url` text NOT NULL,
	`handoff_url` text NOT NULL,
	`entra_tenant_id` text NOT NULL,
	`sso_list_version` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`org_id`) REFERENCES `organizations`(`id`) ON UPDATE no action ON DELETE restrict,
	CONSTRAINT "phone_systems_tenant_lowercase" CHECK("phone_systems"."entra_tenant_id" = lower("phone_systems"."entra_tenant_id"))
);
--> statement-breakpoint
CREATE INDEX `phone_systems_org_idx` ON `phone_systems` (`org_id`);--> statement-breakpoint
CREATE INDEX `phone_systems_tenant_idx` ON `phone_systems` (`entra_tenant_id`);--> statement-breakpoint
CREATE TABLE `sso_users` (
	`id` text PRIMARY KEY NOT NULL,
	`phone_system_id` text NOT NULL,
	`tid` text NOT NULL,
	`oid` text,
	`upn` text,
	`email` text,
	`display_name` text,
	`extension` text,
	`sort_key` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`phone_system_id`) REFERENCES `phone_systems`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "sso_users_has_identity" CHECK("sso_users"."oid" IS NOT NULL OR "sso_users"."upn" IS NOT NULL OR "sso_users"."email" IS NOT NULL),
	CONSTRAINT "sso_users_lowercase" CHECK("sso_users"."tid" = lower("sso_users"."tid") AND ("sso_users"."oid" IS NULL OR "sso_users"."oid" = lower("sso_users"."oid"))
       AND ("sso_users"."upn" IS NULL OR "sso_users"."upn" = lower("sso_users"."upn")) AND ("sso_users"."email" IS NULL OR "sso_users"."email" = lower("sso_users"."email")))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `sso_users_ps_oid_uq` ON `sso_users` (`phone_system_id`,`tid`,`oid`);--> statement-breakpoint
CREATE UNIQUE INDEX `sso_users_ps_upn_uq` ON `sso_users` (`phone_system_id`,`upn`);--> statement-breakpoint
CREATE UNIQUE INDEX `sso_users_ps_email_uq` ON `sso_users` (`phone_system_id`,`email`);--> statement-breakpoint
CREATE INDEX `sso_users_ps_sort_idx` ON `sso_users` (`phone_system_id`,`sort_key`,`id`);--> statement-breakpoint
CREATE INDEX `sso_users_tid_oid_idx` ON `sso_users` (`tid`,`oid`);--> statement-breakpoint
CREATE INDEX `sso_users_tid_upn_idx` ON `sso_users` (`tid`,`upn`);--> statement-breakpoint
CREATE INDEX `sso_users_tid_email_idx` ON `sso_users` (`tid`,`email`);