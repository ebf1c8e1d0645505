import { type DrizzleD1Database, drizzle } from 'drizzle-orm/d1'

/**
 * No schema is passed to drizzle: nothing here uses its relational queries (`db.query.*`), and with
 * one, every new client (one per request's read session) walked every table to build the relational
 * config, and the bundle kept every table of schema.ts, the sign-in Worker's included.
 */
export type Db = DrizzleD1Database

/**
 * Where reads may go: the binding itself (the primary), or a D1 Sessions API session
 * (`withSession`), whose reads a nearby replica may serve. Both offer `prepare` and `batch`,
 * all that drizzle's D1 driver calls.
 */
export type D1Reader = D1Database | D1DatabaseSession

const clients = new WeakMap<D1Reader, Db>()

/** The drizzle client over a D1 binding or session, one per binding or session. */
export function getDb(d1: D1Reader): Db {
  let db = clients.get(d1)
  if (!db) {
    // drizzle's types name only D1Database; a session answers the same two calls it makes.
    db = drizzle(d1 as D1Database)
    clients.set(d1, db)
  }
  return db
}
