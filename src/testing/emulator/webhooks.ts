/*
 * rownd-adonis
 *
 * The emulator's webhook connector: when a user is created, updated or
 * deleted, a delivery shaped like Rownd's "Generic webhook" payloads is sent
 * to the configured URL with the configured method (Rownd's dashboard sets
 * only those two; deliveries carry no signature, id or timestamp). Tests can
 * hold deliveries, then release them in any order, replay them, or send
 * payloads of their own.
 */

import type { RowndEmulatorUser } from './users.ts'

export type RowndWebhookOperation = 'data_insert' | 'data_update' | 'visibility_update' | 'delete'

/** Where deliveries go, as set in Rownd's dashboard */
export interface RowndWebhookTarget {
  url: string
  /** Default `'POST'` */
  method?: 'POST' | 'PUT' | 'PATCH'
  /** Extra headers (Rownd sends none; a relay might add a secret header) */
  headers?: Record<string, string>
}

/** One delivery: its payload and what the target answered */
export interface RowndWebhookDelivery {
  /** Emulator-side sequence number (Rownd sends no id) */
  id: number
  operation: RowndWebhookOperation
  userId: string
  payload: Record<string, unknown>
  /** `held` until released; `sent` once answered (any status); `failed` when unreachable */
  state: 'held' | 'sending' | 'sent' | 'failed'
  /** Status of the latest attempt */
  status?: number
  /** Body of the latest answer */
  response?: string
  /** Headers of the latest answer */
  headers?: Record<string, string>
  attempts: number
}

const REDACTED = '<<REDACTED>>'

/** Lookup values: the identifiers Rownd looks users up by */
function lookupValues(user: RowndEmulatorUser) {
  const values: Array<{ field: string; value: unknown }> = []
  for (const field of ['email', 'phone_number']) {
    if (typeof user.data[field] === 'string') values.push({ field, value: user.data[field] })
  }
  if (!values.length) values.push({ field: 'user_id', value: user.userId })
  return values
}

/** The payload Rownd's connector sends for an operation, from the docs' examples */
export function webhookPayload(
  operation: RowndWebhookOperation,
  user: RowndEmulatorUser,
  redacted: string[] = []
): Record<string, unknown> {
  const meta = { operation, lookup_values: lookupValues(user) }
  if (operation === 'delete') return { data: { user_id: user.userId }, meta }
  const data: Record<string, unknown> = { ...user.data, user_id: user.userId }
  for (const field of redacted) if (field in data) data[field] = REDACTED
  return { data, redacted: [...redacted], meta }
}

/**
 * Sends (or holds) webhook deliveries. Reached through `emulator.webhooks`.
 */
export class WebhookSender {
  #target?: RowndWebhookTarget
  #holding = false
  #sequence = 0
  #inflight = new Set<Promise<unknown>>()
  /** Every delivery, in the order the changes happened */
  readonly deliveries: RowndWebhookDelivery[] = []

  constructor(target?: RowndWebhookTarget) {
    this.#target = target
  }

  /** Sets (or, with null, removes) the URL and method deliveries go to */
  configure(target: RowndWebhookTarget | null) {
    this.#target = target ?? undefined
  }

  get target(): RowndWebhookTarget | undefined {
    return this.#target
  }

  /** Deliveries of one user, in order */
  of(userId: string): RowndWebhookDelivery[] {
    return this.deliveries.filter((delivery) => delivery.userId === userId)
  }

  /** Keeps later deliveries back (state `held`) until `release()` */
  hold() {
    this.#holding = true
  }

  /**
   * Sends the held deliveries and stops holding: in the order the changes
   * happened, reversed, or in the order of the ids given. Resolves once all
   * were answered.
   */
  async release(order: 'in_order' | 'reversed' | number[] = 'in_order') {
    this.#holding = false
    let held = this.deliveries.filter((delivery) => delivery.state === 'held')
    if (order === 'reversed') held.reverse()
    if (Array.isArray(order)) {
      held = order.map((id) => {
        const delivery = held.find((candidate) => candidate.id === id)
        if (!delivery) throw new Error(`No held webhook delivery ${id}`)
        return delivery
      })
    }
    for (const delivery of held) await this.#send(delivery)
    // Deliveries left out of an explicit order stay held
  }

  /** Sends a delivery again, exactly as first built (Rownd retrying, or a replay attack) */
  async replay(delivery: RowndWebhookDelivery | number): Promise<RowndWebhookDelivery> {
    const found =
      typeof delivery === 'number'
        ? this.deliveries.find((candidate) => candidate.id === delivery)
        : delivery
    if (!found) throw new Error(`No webhook delivery ${String(delivery)}`)
    await this.#send(found)
    return found
  }

  /**
   * Sends a delivery for a user now (e.g. `visibility_update`, which the
   * store never triggers), with `redacted` fields masked as Rownd does
   */
  async deliver(
    operation: RowndWebhookOperation,
    user: RowndEmulatorUser,
    options: { redacted?: string[] } = {}
  ): Promise<RowndWebhookDelivery> {
    const delivery = this.#record(operation, user, options.redacted)
    await this.#send(delivery)
    return delivery
  }

  /** Sends a payload of your own (forged, malformed) to the target; not recorded */
  async sendPayload(
    payload: unknown,
    options: { headers?: Record<string, string>; url?: string; method?: string } = {}
  ): Promise<{ status: number; headers: Record<string, string>; body: string }> {
    const target = this.#requireTarget()
    const response = await fetch(options.url ?? target.url, {
      method: options.method ?? target.method ?? 'POST',
      headers: { 'content-type': 'application/json', ...target.headers, ...options.headers },
      body: typeof payload === 'string' ? payload : JSON.stringify(payload),
      signal: AbortSignal.timeout(10_000),
    })
    return {
      status: response.status,
      headers: Object.fromEntries(response.headers),
      body: await response.text(),
    }
  }

  /** Resolves once every delivery under way was answered */
  async settled() {
    while (this.#inflight.size) await Promise.allSettled([...this.#inflight])
  }

  /** Called by the user store: records a delivery and sends it unless held */
  notify(operation: RowndWebhookOperation, user: RowndEmulatorUser) {
    if (!this.#target) return
    const delivery = this.#record(operation, user)
    if (this.#holding) return
    const sending = this.#send(delivery).finally(() => this.#inflight.delete(sending))
    this.#inflight.add(sending)
  }

  #record(operation: RowndWebhookOperation, user: RowndEmulatorUser, redacted?: string[]) {
    const delivery: RowndWebhookDelivery = {
      id: ++this.#sequence,
      operation,
      userId: user.userId,
      // Built now: a later change of the user must not alter what this delivery says
      payload: structuredClone(webhookPayload(operation, user, redacted)),
      state: 'held',
      attempts: 0,
    }
    this.deliveries.push(delivery)
    return delivery
  }

  #requireTarget() {
    if (!this.#target) throw new Error('Set emulator.webhooks.configure({ url }) first')
    return this.#target
  }

  async #send(delivery: RowndWebhookDelivery) {
    const target = this.#requireTarget()
    delivery.state = 'sending'
    delivery.attempts++
    try {
      const response = await fetch(target.url, {
        method: target.method ?? 'POST',
        headers: { 'content-type': 'application/json', ...target.headers },
        body: JSON.stringify(delivery.payload),
        signal: AbortSignal.timeout(10_000),
      })
      delivery.status = response.status
      delivery.headers = Object.fromEntries(response.headers)
      delivery.response = await response.text()
      delivery.state = 'sent'
    } catch {
      delivery.status = undefined
      delivery.state = 'failed'
    }
    return delivery
  }
}
