CREATE TABLE `graph_tenant_backoff` (
	`tenant_id` text PRIMARY KEY NOT NULL,
	`until` integer NOT NULL,
	`strikes` integer NOT NULL,
	`throttled_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `graph_tenant_backoff_throttled_idx` ON `graph_tenant_backoff` (`throttled_at`);
--> statement-breakpoint
CREATE INDEX `graph_tenant_backoff_until_idx` ON `graph_tenant_backoff` (`until`);
