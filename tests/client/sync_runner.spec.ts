import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from '@japa/runner'
import { SyncRunner, type SyncableProvider } from '../../src/commands/sync_runner.ts'
import { E_ROWND_ACCOUNT_CONFLICT, E_ROWND_UNAVAILABLE } from '../../src/errors.ts'
import type { RowndProfilePlan } from '../../src/user_providers/lucid.ts'
import type { RowndProfile } from '../../src/types.ts'
import { setup, type Cleanup } from './helpers.ts'

interface Row {
  rid: string
  name?: string
}

/**
 * An in-memory store with the sign-in rules reduced to the Rownd id, and
 * a switch that "kills" the run before or after a chosen write
 */
class MemoryProvider implements SyncableProvider<Row> {
  rows = new Map<string, Row>()
  writes = 0
  crash?: { at: number; when: 'before' | 'after' }

  #maybeCrash(when: 'before' | 'after') {
    if (this.crash && this.crash.when === when && this.writes + 1 === this.crash.at) {
      if (when === 'after') this.writes++
      this.crash = undefined
      throw new Error('killed')
    }
  }

  async planForProfile(rid: string, profile: RowndProfile): Promise<RowndProfilePlan<Row>> {
    const row = this.rows.get(rid)
    if (row) return { action: 'existing', user: row }
    if (profile.data.email === 'conflict@example.com') return { action: 'conflict' }
    return { action: 'create', attributes: {} }
  }

  async findOrCreateForProfile(rid: string, profile: RowndProfile) {
    if (profile.data.email === 'conflict@example.com') throw new E_ROWND_ACCOUNT_CONFLICT()
    const existing = this.rows.get(rid)
    if (existing) return { user: existing, created: false, linked: false }
    this.#maybeCrash('before')
    const row = { rid, name: profile.data.first_name ?? undefined }
    this.rows.set(rid, row)
    this.#maybeCrash('after')
    this.writes++
    return { user: row, created: true, linked: false }
  }

  async syncProfile(
    row: Row,
    profile: RowndProfile,
    _token?: unknown,
    options: { dryRun?: boolean } = {}
  ) {
    const name = profile.data.first_name ?? undefined
    if (row.name === name) return []
    if (!options.dryRun) row.name = name
    return ['name']
  }
}

async function context(cleanup: Cleanup, users = 30) {
  const { emulator, client } = await setup(cleanup)
  for (let i = 0; i < users; i++)
    emulator.createUser({ email: `u${i}@example.com`, firstName: `U${i}` })
  const dir = await mkdtemp(join(tmpdir(), 'rownd-sync-'))
  cleanup(() => rm(dir, { recursive: true, force: true }))
  const provider = new MemoryProvider()
  const runner = (options: Partial<ConstructorParameters<typeof SyncRunner>[0]> = {}) =>
    new SyncRunner({
      client,
      provider,
      statePath: (appId) => join(dir, `${appId}.json`),
      guardName: 'rownd',
      rate: 1000,
      pageSize: 7,
      sleep: async () => {},
      ...options,
    })
  return { emulator, client, provider, runner, dir }
}

test.group('rownd:sync runner | resumable with exact counts', () => {
  for (const when of ['before', 'after'] as const) {
    test(`a run killed ${when} a write resumes and counts it exactly once`, async ({
      assert,
      cleanup,
    }) => {
      const { provider, runner, emulator, dir } = await context(cleanup)
      provider.crash = { at: 12, when }
      await assert.rejects(() => runner().run(), 'killed')
      assert.equal(provider.rows.size, when === 'after' ? 12 : 11)
      // The write under way was journaled before it started
      const [file] = await readdir(dir)
      const saved = JSON.parse(await readFile(join(dir, file), 'utf-8'))
      assert.equal(saved.pending.outcome, 'created')
      assert.equal(saved.counts.created, 11)

      const resumed = await runner().run()
      assert.isTrue(resumed.resumed)
      assert.deepEqual(resumed.state.counts, {
        created: 30,
        linked: 0,
        updated: 0,
        unchanged: 0,
        conflicts: 0,
        skipped: 0,
      })
      assert.equal(provider.rows.size, 30)
      assert.isTrue(resumed.state.done)
      assert.isUndefined(resumed.state.pending)
      // Paged from the cursor: the first pages were not read again
      assert.isBelow(emulator.requestCount('users_list'), 2 * Math.ceil(30 / 7) + 2)
    })
  }

  test('a finished run is not resumed: the next one starts over and changes nothing', async ({
    assert,
    cleanup,
  }) => {
    const { runner, provider } = await context(cleanup, 10)
    const first = await runner().run()
    assert.equal(first.state.counts.created, 10)
    const second = await runner().run()
    assert.isFalse(second.resumed)
    assert.equal(second.state.counts.unchanged, 10)
    assert.equal(second.state.counts.created, 0)
    assert.equal(provider.rows.size, 10)
  })

  test('shouldStop ends cleanly with the state saved; --restart ignores it', async ({
    assert,
    cleanup,
  }) => {
    const { runner, provider } = await context(cleanup, 20)
    let seen = 0
    const stopped = await runner({ shouldStop: () => ++seen > 9 }).run()
    assert.isTrue(stopped.stopped)
    assert.isFalse(stopped.state.done)
    assert.equal(provider.rows.size, 9)
    const restarted = await runner({ restart: true }).run()
    assert.isFalse(restarted.resumed)
    assert.deepEqual([restarted.state.counts.created, restarted.state.counts.unchanged], [11, 9])
  })

  test('a dry run writes neither rows nor state', async ({ assert, cleanup }) => {
    const { runner, provider, dir } = await context(cleanup, 12)
    const dry = await runner({ dryRun: true }).run()
    assert.equal(dry.state.counts.created, 12)
    assert.equal(provider.rows.size, 0)
    assert.deepEqual(await readdir(dir), [])
  })

  test('Rownd unavailable: the page is retried; past the attempts the run stops, resumable', async ({
    assert,
    cleanup,
  }) => {
    const { runner, emulator, provider } = await context(cleanup, 20)
    const waits: number[] = []
    const sleep = async (ms: number) => {
      waits.push(ms)
    }
    emulator.setFault('users_list', { kind: 'status', status: 503 }, { times: 2 })
    const retried = await runner({ sleep }).run()
    assert.equal(retried.state.counts.created, 20)
    assert.isTrue(
      waits.some((ms) => ms >= 1000),
      'waits at least Retry-After or backoff'
    )

    emulator.createUser({ email: 'late@example.com' })
    provider.rows.clear()
    // Rownd fails for good after the first page: that page's work is kept
    let calls = 0
    const failing = runner({
      sleep,
      maxAttempts: 2,
      onProgress: () => {
        if (++calls === 7) emulator.setFault('users_list', { kind: 'status', status: 500 })
      },
    })
    assert.instanceOf(await failing.run().catch((error) => error), E_ROWND_UNAVAILABLE)
    emulator.clearFaults()
    const resumed = await runner({ sleep }).run()
    assert.isTrue(resumed.resumed)
    assert.equal(resumed.state.counts.created, 21)
  })

  test('conflicts and refused kinds are counted with sample ids, never written', async ({
    assert,
    cleanup,
  }) => {
    const { emulator, client, runner, provider } = await context(cleanup, 3)
    const conflict = emulator.createUser({ email: 'conflict@example.com' })
    const guest = emulator.createUser({ authLevel: 'guest' })
    ;(client.config.accept as { guest: boolean }).guest = false
    const result = await runner().run()
    assert.deepEqual(result.state.counts, {
      created: 3,
      linked: 0,
      updated: 0,
      unchanged: 0,
      conflicts: 1,
      skipped: 1,
    })
    assert.deepEqual(result.state.samples, {
      conflicts: [conflict.userId],
      skipped: [guest.userId],
    })
    assert.equal(provider.rows.size, 3)
  })

  test('rows already linked get their mapped fields synced (updated), once', async ({
    assert,
    cleanup,
  }) => {
    const { emulator, runner, provider } = await context(cleanup, 4)
    await runner().run()
    const [first] = emulator.listUsers()
    emulator.updateUser(first.userId, { first_name: 'Renamed' })
    const result = await runner().run()
    assert.equal(result.state.counts.updated, 1)
    assert.equal(result.state.counts.unchanged, 3)
    assert.equal(provider.rows.get(first.userId)!.name, 'Renamed')
  })
})
