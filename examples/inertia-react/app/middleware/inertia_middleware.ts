import type { HttpContext } from '@adonisjs/core/http'
import type { NextFn } from '@adonisjs/core/types/http'
import UserTransformer from '#transformers/user_transformer'
import BaseInertiaMiddleware from '@adonisjs/inertia/inertia_middleware'
import { rowndSharedProps } from 'rownd-adonis/inertia'

export default class InertiaMiddleware extends BaseInertiaMiddleware {
  /**
   * Props every page receives. This is a server middleware, so a page can
   * render before the session and auth middleware ran (a 404, say): both
   * may be missing
   */
  share(ctx: HttpContext) {
    const { session, auth } = ctx as Partial<HttpContext>

    // First flashed error other than validation errors (those go to `errors`)
    const errorsBag = session?.flashMessages.get('errorsBag') ?? {}
    const error: string | undefined = Object.keys(errorsBag)
      .filter((code) => code !== 'E_VALIDATION_ERROR')
      .map((code) => errorsBag[code])[0]

    return {
      errors: ctx.inertia.always(this.getValidationErrors(ctx)),
      flash: ctx.inertia.always({
        error: error,
      }),
      user: ctx.inertia.always(auth?.user ? UserTransformer.transform(auth.user) : undefined),
      // <RowndProvider> props wired to the session routes (CSRF header included),
      // and whether the app's own logout asks the Hub to sign out
      rownd: ctx.inertia.always(rowndSharedProps(ctx)),
    }
  }

  async handle(ctx: HttpContext, next: NextFn) {
    await this.init(ctx)

    const output = await next()
    this.dispose(ctx)

    return output
  }
}

declare module '@adonisjs/inertia/types' {
  type MiddlewareSharedProps = InferSharedProps<InertiaMiddleware>
  export interface SharedProps extends MiddlewareSharedProps {}
}
