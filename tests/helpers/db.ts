import type { Knex } from 'knex'
import type { TestApp } from './test_app.ts'

/** Rows of the test app's users table matching a where clause */
export async function userRows(db: Knex, where: Record<string, unknown>) {
  return (await db('users').where(where).orderBy('id')) as Record<string, any>[]
}

/** Number of users rows matching a where clause (drivers disagree on the count type) */
export async function countUsers(db: Knex, where: Record<string, unknown> = {}) {
  const [row] = await db('users').where(where).count({ total: '*' })
  return Number(row.total)
}

/** Seeds a users row the way an app's own sign-up would (no Rownd id) */
export async function seedUser(db: Knex, attributes: Record<string, unknown>) {
  // 'YYYY-MM-DD HH:mm:ss' reads back as a date on every lane (Lucid stores SQLite dates as text)
  const now = new Date().toISOString().slice(0, 19).replace('T', ' ')
  await db('users').insert({ created_at: now, updated_at: now, ...attributes })
  const [row] = await userRows(db, { email: attributes.email })
  return row
}

export interface JsonResponse {
  status: number
  headers: Headers
  body: any
}

async function toJson(response: Response): Promise<JsonResponse> {
  const text = await response.text()
  let body: unknown = text
  try {
    body = JSON.parse(text)
  } catch {}
  return { status: response.status, headers: response.headers, body }
}

/** GET a path of the app with a bearer token */
export async function getWithBearer(app: TestApp, path: string, token: string) {
  return toJson(
    await fetch(new URL(path, app.url), {
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
    })
  )
}

/** The Hub's post-authentication call: POST /rownd/session_authenticate */
export async function sessionSignIn(app: TestApp, token: string) {
  return toJson(
    await fetch(new URL('/rownd/session_authenticate', app.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'accept': 'application/json' },
      body: JSON.stringify({ access_token: token }),
    })
  )
}

/** First error code of a rendered error body */
export function errorCode(response: JsonResponse): string | undefined {
  return response.body?.errors?.[0]?.code
}
