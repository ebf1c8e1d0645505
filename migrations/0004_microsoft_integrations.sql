CREATE TABLE `microsoft_integrations` (
	`org_id` text PRIMARY KEY NOT NULL,
	`client_id` text NOT NULL,
	`client_secret_enc` text NOT NULL,
	`home_tenant_id` text NOT NULL,
	`allowed_tenant_ids` text NOT NULL,
	`secret_updated_at` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`org_id`) REFERENCES `organizations`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
ALTER TABLE `sso_flows` ADD `client_org_id` text;