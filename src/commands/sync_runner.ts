import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { RowndClient } from '../client/rownd_client.ts'
import { refusalOf } from '../guard/accept.ts'
import type { RowndEmitter } from '../guard/types.ts'
import {
  E_ROWND_ACCOUNT_CONFLICT,
  E_ROWND_PROFILE_INCOMPLETE,
  E_ROWND_UNAVAILABLE,
  E_ROWND_USER_NOT_FOUND,
} from '../errors.ts'
import type { RowndProfilePlan } from '../user_providers/lucid.ts'
import type { RowndProfile, RowndToken } from '../types.ts'

/** What `rownd:sync` needs of the user provider (`rowndUserProvider` has it all) */
export interface SyncableProvider<User = unknown> {
  findOrCreateForProfile(
    rowndUserId: string,
    profile: RowndProfile,
    context?: { guardName?: string }
  ): Promise<{ user: User; created: boolean; linked: boolean }>
  planForProfile(rowndUserId: string, profile: RowndProfile): Promise<RowndProfilePlan<User>>
  syncProfile(
    user: User,
    profile: RowndProfile,
    token?: RowndToken,
    options?: { dryRun?: boolean }
  ): Promise<string[]>
}

export function isSyncableProvider(provider: unknown): provider is SyncableProvider {
  const candidate = provider as Partial<SyncableProvider> | undefined
  return (
    typeof candidate?.findOrCreateForProfile === 'function' &&
    typeof candidate.planForProfile === 'function' &&
    typeof candidate.syncProfile === 'function'
  )
}

export const OUTCOMES = [
  'created',
  'linked',
  'updated',
  'unchanged',
  'conflicts',
  'skipped',
] as const
export type SyncOutcome = (typeof OUTCOMES)[number]
export type SyncCounts = Record<SyncOutcome, number>

/** Outcomes that write: journaled before the write, so a killed run counts them once */
type WritingOutcome = 'created' | 'linked' | 'updated'

/** Saved in the app's tmp/ after every write and every page: a run resumes from it */
export interface SyncState {
  version: 1
  appId: string
  guard: string
  /** Rownd id of the last user fully handled (the users API `after` cursor) */
  cursor?: string
  counts: SyncCounts
  /** Users Rownd reported when the run started */
  total?: number
  /** A write under way: if the process died there, the resumed run counts it once */
  pending?: { rowndUserId: string; outcome: WritingOutcome }
  /** Rownd ids of users not synced, by reason (the first 50 of each) */
  samples: { conflicts: string[]; skipped: string[] }
  startedAt: string
  updatedAt: string
  done: boolean
}

export interface SyncRunnerOptions {
  client: RowndClient
  provider: SyncableProvider
  emitter?: RowndEmitter
  /**
   * Where the state of a Rownd app lives (the app's tmp/; one file per app
   * id, so staging and production credentials never share one). Dry runs
   * write nothing
   */
  statePath: (appId: string) => string
  guardName: string
  /** Decide and count, write nothing (neither rows nor state) */
  dryRun?: boolean
  /** Most users API requests per second */
  rate: number
  pageSize: number
  /** Ignore a saved state and start from the first user */
  restart?: boolean
  /** Attempts per page while Rownd is unavailable, before giving up (state kept) */
  maxAttempts?: number
  /** Called after each user (throttle the rendering yourself) */
  onProgress?: (state: SyncState) => void
  /** Checked between users: true stops the run cleanly, state saved */
  shouldStop?: () => boolean
  sleep?: (ms: number) => Promise<void>
}

export interface SyncResult {
  state: SyncState
  /** Whether it went on from an earlier, unfinished run */
  resumed: boolean
  /** Stopped by `shouldStop` before the end */
  stopped: boolean
}

const SAMPLE_SIZE = 50

function zeroCounts(): SyncCounts {
  return { created: 0, linked: 0, updated: 0, unchanged: 0, conflicts: 0, skipped: 0 }
}

/** The Rownd id of a listed profile */
function idOf(profile: RowndProfile): string | undefined {
  const id = profile.rownd_user ?? profile.data?.user_id
  return typeof id === 'string' && id.length > 0 ? id : undefined
}

/**
 * Pages through Rownd's users API and creates or links a row for each
 * user with the rules of sign-in (`findOrCreateForProfile`), syncing mapped
 * fields of rows already linked. Resumable: the cursor and counts are saved
 * in `statePath`; a write is journaled before it happens, so even a killed
 * run resumes with exact counts. Rate-limited to `rate` requests per second;
 * retries pages while Rownd is unavailable.
 */
export class SyncRunner {
  #options: SyncRunnerOptions
  #state!: SyncState
  /** The write under way when the run this one resumes died */
  #resumedPending?: SyncState['pending']
  #statePath = ''
  #lastRequest = 0
  #sleep: (ms: number) => Promise<void>

  constructor(options: SyncRunnerOptions) {
    this.#options = options
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)))
  }

  get state() {
    return this.#state
  }

  /** Reads a saved state; undefined when there is none or it cannot be used */
  static async readState(path: string): Promise<SyncState | undefined> {
    try {
      const state = JSON.parse(await readFile(path, 'utf-8')) as SyncState
      return state?.version === 1 && state.counts ? state : undefined
    } catch {
      return undefined
    }
  }

  async run(): Promise<SyncResult> {
    const { client, dryRun } = this.#options
    const appId = await client.appId()
    this.#statePath = this.#options.statePath(appId)
    const saved =
      dryRun || this.#options.restart ? undefined : await SyncRunner.readState(this.#statePath)
    const resumed =
      saved !== undefined &&
      !saved.done &&
      saved.appId === appId &&
      saved.guard === this.#options.guardName
    const now = new Date().toISOString()
    this.#state = resumed
      ? { ...saved, samples: saved.samples ?? { conflicts: [], skipped: [] } }
      : {
          version: 1,
          appId,
          guard: this.#options.guardName,
          counts: zeroCounts(),
          samples: { conflicts: [], skipped: [] },
          startedAt: now,
          updatedAt: now,
          done: false,
        }

    this.#resumedPending = resumed ? saved.pending : undefined

    let stopped = false
    pages: while (true) {
      const page = await this.#fetchPage(this.#state.cursor)
      this.#state.total ??= page.total_results
      let results = page.results
      // A server that includes the cursor's own user again: skip it
      if (results.length && this.#state.cursor && idOf(results[0]) === this.#state.cursor) {
        results = results.slice(1)
      }
      if (!results.length) break
      for (const profile of results) {
        if (this.#options.shouldStop?.()) {
          stopped = true
          break pages
        }
        await this.#handle(profile)
        this.#options.onProgress?.(this.#state)
      }
      await this.#save()
      if (page.results.length < this.#options.pageSize) break
    }
    this.#state.done = !stopped
    this.#state.pending = undefined
    await this.#save()
    return { state: this.#state, resumed, stopped }
  }

  /** One page, at most `rate` requests per second, retried while Rownd is unavailable */
  async #fetchPage(after: string | undefined) {
    const attempts = this.#options.maxAttempts ?? 5
    for (let attempt = 1; ; attempt++) {
      const wait = this.#lastRequest + 1000 / this.#options.rate - Date.now()
      if (wait > 0) await this.#sleep(wait)
      this.#lastRequest = Date.now()
      try {
        const page = await this.#options.client.users.list({
          pageSize: this.#options.pageSize,
          after,
        })
        if (!Array.isArray(page?.results)) {
          throw new E_ROWND_UNAVAILABLE('Rownd sent a users page without results')
        }
        return page
      } catch (error) {
        if (!(error instanceof E_ROWND_UNAVAILABLE) || attempt >= attempts) {
          await this.#save()
          throw error
        }
        await this.#sleep(Math.max(error.retryAfter * 1000, 500 * 2 ** attempt))
      }
    }
  }

  #count(outcome: SyncOutcome, rowndUserId: string | undefined) {
    this.#state.counts[outcome]++
    if ((outcome === 'conflicts' || outcome === 'skipped') && rowndUserId) {
      const sample = this.#state.samples[outcome]
      if (sample.length < SAMPLE_SIZE) sample.push(rowndUserId)
    }
  }

  async #handle(profile: RowndProfile) {
    const rowndUserId = idOf(profile)
    const outcome = await this.#outcomeOf(rowndUserId, profile)
    // A resumed run meeting the user whose write was under way when the
    // last run died: if the row is linked now, that write happened (and
    // any field sync it missed was just done)
    const pending = this.#resumedPending
    if (pending && pending.rowndUserId === rowndUserId) {
      this.#resumedPending = undefined
      const happened = outcome === 'unchanged' || outcome === 'updated'
      this.#count(happened ? pending.outcome : outcome, rowndUserId)
    } else {
      this.#count(outcome, rowndUserId)
    }
    if (rowndUserId) this.#state.cursor = rowndUserId
    if (this.#state.pending) {
      // The journaled write is done and counted, with the cursor past it
      this.#state.pending = undefined
      await this.#save()
    }
  }

  async #outcomeOf(rowndUserId: string | undefined, profile: RowndProfile): Promise<SyncOutcome> {
    if (!rowndUserId) return 'skipped'
    const { provider, dryRun } = this.#options
    // The kinds of users sign-in refuses are not imported either
    if (refusalOf(this.#options.client.config.accept, { authLevel: profile.auth_level })) {
      return 'skipped'
    }
    const plan = await provider.planForProfile(rowndUserId, profile)
    switch (plan.action) {
      case 'conflict':
        return 'conflicts'
      case 'not_found':
      case 'incomplete':
        return 'skipped'
      case 'existing': {
        const changes = await provider.syncProfile(plan.user, profile, undefined, { dryRun: true })
        if (!changes.length) return 'unchanged'
        if (dryRun) return 'updated'
        await this.#journal(rowndUserId, 'updated')
        const changed = await provider.syncProfile(plan.user, profile)
        if (changed.length) {
          this.#options.emitter?.emit('rownd_auth:user_synced', {
            user: plan.user,
            rowndUserId,
            changed,
            source: 'sync',
          })
        }
        return changed.length ? 'updated' : 'unchanged'
      }
      case 'link':
      case 'create': {
        if (dryRun) return plan.action === 'link' ? 'linked' : 'created'
        await this.#journal(rowndUserId, plan.action === 'link' ? 'linked' : 'created')
        try {
          const lookup = await provider.findOrCreateForProfile(rowndUserId, profile, {
            guardName: this.#options.guardName,
          })
          // A linked row gets the mapped fields, as a session sign-in gives it
          if (!lookup.created) await provider.syncProfile(lookup.user, profile)
          return lookup.created ? 'created' : lookup.linked ? 'linked' : 'unchanged'
        } catch (error) {
          // Decided otherwise since the plan (a concurrent sign-in, the database)
          if (error instanceof E_ROWND_ACCOUNT_CONFLICT) return 'conflicts'
          if (
            error instanceof E_ROWND_PROFILE_INCOMPLETE ||
            error instanceof E_ROWND_USER_NOT_FOUND
          )
            return 'skipped'
          throw error
        }
      }
    }
  }

  async #journal(rowndUserId: string, outcome: WritingOutcome) {
    this.#state.pending = { rowndUserId, outcome }
    await this.#save()
  }

  /** Written atomically (temp file, then rename): a kill never leaves half a state */
  async #save() {
    if (this.#options.dryRun) return
    this.#state.updatedAt = new Date().toISOString()
    const path = this.#statePath
    await mkdir(dirname(path), { recursive: true })
    const temp = `${path}.${process.pid}.tmp`
    await writeFile(temp, JSON.stringify(this.#state, null, 2))
    await rename(temp, path)
  }
}
