import { useState } from 'react'
import { Data } from '@generated/data'
import { usePage } from '@inertiajs/react'
import { useRownd } from '@rownd/react'

export default function Home() {
  const { user } = usePage<Data.SharedProps>().props
  const rownd = useRownd()
  const [apiAnswer, setApiAnswer] = useState('')

  // An API route behind middleware.rownd(), called with the Hub's access
  // token only (credentials: 'omit' leaves the session cookie out)
  async function callApi() {
    const token = await rownd.getAccessToken()
    const response = await fetch('/api/me', {
      credentials: 'omit',
      headers: { Accept: 'application/json', Authorization: `Bearer ${token}` },
    })
    setApiAnswer(`${response.status} ${await response.text()}`)
  }

  return (
    <div className="hero">
      <h1>It works — welcome to the power of a full-stack React app</h1>
      <p>Server-driven routing with Inertia, pages in React.</p>

      <section data-testid="rownd">
        <h2>Rownd</h2>
        <p>
          Server session (shared <code>user</code> prop):{' '}
          <strong data-testid="server-user">{user ? user.email : 'nobody'}</strong>
        </p>
        <p>
          Hub (<code>useRownd()</code>):{' '}
          <strong data-testid="hub-user">
            {rownd.is_initializing
              ? 'loading'
              : rownd.is_authenticated
                ? (rownd.user.data.email ?? rownd.user.data.user_id ?? 'signed in')
                : 'signed out'}
          </strong>
        </p>
        {rownd.is_authenticated ? (
          <p>
            <button type="button" className="button" onClick={callApi}>
              Call /api/me with the access token
            </button>{' '}
            <button type="button" className="button" onClick={() => rownd.signOut()}>
              Sign out
            </button>
          </p>
        ) : (
          <p>
            <button
              type="button"
              className="button"
              disabled={rownd.is_initializing}
              onClick={() => rownd.requestSignIn()}
            >
              Sign in with Rownd
            </button>
          </p>
        )}
        {apiAnswer && <pre data-testid="api-answer">{apiAnswer}</pre>}
      </section>
    </div>
  )
}
