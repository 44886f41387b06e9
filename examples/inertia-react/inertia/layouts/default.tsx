import { Data } from '@generated/data'
import { toast, Toaster } from 'sonner'
import { useRownd } from '@rownd/react'
import { usePage } from '@inertiajs/react'
import { ReactElement, useEffect } from 'react'
import { Form, Link } from '@adonisjs/inertia/react'

/**
 * Header with the signed-in user's initials and a logout button (or the
 * signup and login links), then the page; a flashed error shows as a toast
 */
export default function Layout({ children }: { children: ReactElement<Data.SharedProps> }) {
  useEffect(() => {
    toast.dismiss()
  }, [usePage().url])

  // The Logout button below ended a Rownd session on the server: sign the
  // Hub out too, or it signs the user straight back in on the next page
  const { signOut } = useRownd()
  const hubSignOut = children.props.rownd.signOut
  useEffect(() => {
    if (hubSignOut) signOut()
  }, [hubSignOut, signOut])

  if (children.props.flash.error) {
    toast.error(children.props.flash.error)
  }

  return (
    <>
      <header>
        <div>
          <div>
            <Link route="home">
              <strong>AdonisJS</strong>
            </Link>
          </div>
          <div>
            <nav>
              {children.props.user ? (
                <>
                  <span className="avatar">{children.props.user.initials}</span>
                  <Form route="session.destroy">
                    <button type="submit">Logout</button>
                  </Form>
                </>
              ) : (
                <>
                  <Link route="new_account.create">Signup</Link>
                  <Link route="session.create">Login</Link>
                </>
              )}
            </nav>
          </div>
        </div>
      </header>
      <main>{children}</main>
      <Toaster position="top-center" richColors />
    </>
  )
}
