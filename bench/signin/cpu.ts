/**
 * CPU time by process (Linux /proc), so a cell can say where a sign-in's CPU
 * went: workerd (both Workers, the Durable Objects, D1), the Entra stand-in,
 * and the driver (this process: the browsers' thread and workerd's log
 * lines). On a 2-core machine sign-ins per second at c=8 are bounded by the
 * sum, so this is what a faster gateway has to shrink.
 */
import { readdirSync, readFileSync } from 'node:fs'

const TICKS_PER_SECOND = 100

/** A process's name and its /proc/<pid>/stat fields after the name (the state first); null when it is gone. */
function procStat(pid: number | string): { name: string; fields: string[] } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The name may hold spaces and parentheses: the fields count from the last ')'.
    const end = stat.lastIndexOf(')')
    return { name: stat.slice(stat.indexOf('(') + 1, end), fields: stat.slice(end + 2).split(' ') }
  } catch {
    return null
  }
}

/** utime + stime of one process and its reaped children, in ms; null when it is gone or not Linux. */
function processCpuMs(pid: number): number | null {
  const fields = procStat(pid)?.fields
  if (!fields) return null
  const ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])
  return (ticks * 1000) / TICKS_PER_SECOND
}

/** Every process whose parent chain reaches `root`, by name (the first word of /proc/pid/comm). */
export function descendants(root: number): Array<{ pid: number; name: string }> {
  let entries: string[]
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e))
  } catch {
    return []
  }
  const parent = new Map<number, number>()
  const names = new Map<number, string>()
  for (const e of entries) {
    const stat = procStat(e)
    if (!stat) continue // gone meanwhile
    parent.set(Number(e), Number(stat.fields[1]))
    names.set(Number(e), stat.name)
  }
  const out: Array<{ pid: number; name: string }> = []
  for (const [pid, ppid] of parent) {
    let p = ppid
    for (let depth = 0; depth < 8 && p > 1; depth++) {
      if (p === root) {
        out.push({ pid, name: names.get(pid) ?? '?' })
        break
      }
      p = parent.get(p) ?? 0
    }
  }
  return out
}

export interface CpuSources {
  workerd: number[]
  standIn: number
}

export type CpuSample = { workerd: number; standIn: number; driver: number }

export function sampleCpu(sources: CpuSources): CpuSample {
  const usage = process.cpuUsage()
  return {
    workerd: sources.workerd.reduce((sum, pid) => sum + (processCpuMs(pid) ?? 0), 0),
    standIn: processCpuMs(sources.standIn) ?? 0,
    driver: (usage.user + usage.system) / 1000,
  }
}

export function cpuSince(before: CpuSample, after: CpuSample): CpuSample {
  return {
    workerd: after.workerd - before.workerd,
    standIn: after.standIn - before.standIn,
    driver: after.driver - before.driver,
  }
}
