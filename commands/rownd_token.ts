import { args, BaseCommand, flags } from '@adonisjs/core/ace'
import type { CommandOptions } from '@adonisjs/core/types/ace'

/**
 * `node ace rownd:token <email|rownd user id>`: in dev mode, a Rownd access
 * token for a user of the emulator (created when unknown), and a ready
 * curl line, for working on APIs without a browser.
 */
export default class RowndToken extends BaseCommand {
  static commandName = 'rownd:token'
  static description =
    'Dev mode: print a bearer token for a user of the Rownd emulator (created if needed) and a curl line'
  static help = [
    'Needs dev mode (ROWND_EMULATOR=true, NODE_ENV=development or test). The',
    "token is signed by the emulator the app uses: the running server's, the one",
    'of rownd:emulator, or one started here on the state in tmp/rownd-emulator.',
    'Real Rownd tokens come from the Hub after a real sign-in.',
    '',
    '  {{ binaryName }} rownd:token alice@example.com',
    '  {{ binaryName }} rownd:token user_abc123 --expires-in=10m',
    '  {{ binaryName }} rownd:token bob@example.com --unverified --path=/api/me',
    '  {{ binaryName }} rownd:token carol@example.com --auth-level=guest --json',
  ]
  static options: CommandOptions = { startApp: true }

  @args.string({ description: 'Email address, or Rownd user id (app_user_id)' })
  declare user: string

  @flags.string({ description: 'Lifetime: 1h, 30m, 90s or seconds', default: '1h' })
  declare expiresIn: string

  @flags.string({ description: 'auth_level claim: verified, unverified, instant or guest' })
  declare authLevel?: string

  @flags.boolean({
    description:
      'An unverified user: is_verified_user false, auth_level unverified (unless --auth-level); a new user gets an unverified email',
  })
  declare unverified: boolean

  @flags.string({ description: 'Path of the curl line', default: '/' })
  declare path: string

  @flags.boolean({ description: 'Print JSON: token, user, claims summary and curl line' })
  declare json: boolean

  async run() {
    const { devModeRequested } = await import('../src/dev/switch.ts')
    if (!devModeRequested()) {
      this.logger.error(
        "rownd:token needs dev mode: set ROWND_EMULATOR=true (development or test). It signs tokens with the emulator's keys, which only an app in dev mode accepts; real Rownd tokens come from the Hub"
      )
      this.exitCode = 1
      return
    }
    const { default: string } = await import('@adonisjs/core/helpers/string')
    let seconds: number
    try {
      seconds = /^\d+$/.test(this.expiresIn)
        ? Number(this.expiresIn)
        : Math.ceil(string.milliseconds.parse(this.expiresIn) / 1000)
    } catch {
      seconds = Number.NaN
    }
    if (!Number.isFinite(seconds) || seconds < 1) {
      this.logger.error(
        `--expires-in must be a duration such as 1h, 30m, 90s or 3600, got "${this.expiresIn}"`
      )
      this.exitCode = 1
      return
    }

    const dev = await this.app.container.make('rownd.dev')
    const byEmail = this.user.includes('@')
    const response = await fetch(`${dev.url}/__emulator/dev/tokens`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-rownd-app-key': dev.appKey,
        'x-rownd-app-secret': dev.appSecret,
      },
      body: JSON.stringify({
        ...(byEmail ? { email: this.user } : { user_id: this.user }),
        expires_in: seconds,
        auth_level: this.authLevel,
        verified: this.unverified ? false : undefined,
      }),
      signal: AbortSignal.timeout(10_000),
    })
    const body = (await response.json().catch(() => ({}))) as Record<string, any>
    if (response.status !== 200) {
      this.logger.error(`The emulator refused: ${body.message ?? `status ${response.status}`}`)
      this.exitCode = 1
      return
    }

    const { config } = await this.app.container.make('rownd')
    const base = (config.appUrl ?? `http://localhost:${process.env.PORT ?? 3333}`).replace(
      /\/+$/,
      ''
    )
    const path = this.path.startsWith('/') ? this.path : `/${this.path}`
    const curl = `curl -H "Authorization: Bearer ${body.access_token}" ${base}${path}`
    const expiresAt = new Date(body.expires_at * 1000).toISOString()
    if (this.json) {
      this.logger.log(
        JSON.stringify(
          {
            token: body.access_token,
            userId: body.user_id,
            email: body.email,
            created: body.created,
            authLevel: body.auth_level,
            isVerifiedUser: body.is_verified_user,
            expiresAt,
            curl,
          },
          null,
          2
        )
      )
      return
    }
    const who = [body.email, body.user_id].filter(Boolean).join(', ')
    this.logger.info(
      `${body.created ? 'New' : 'Existing'} Rownd user ${who}: ${body.auth_level}${body.is_verified_user ? '' : ', not verified'}, token valid until ${expiresAt}`
    )
    this.logger.log(body.access_token)
    this.logger.log('')
    this.logger.log(curl)
  }
}
