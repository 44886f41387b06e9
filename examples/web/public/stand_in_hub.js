/*
 * A stand-in for the Rownd Hub (https://hub.rownd.io/static/scripts/rph.js),
 * used by the demo when it runs against the Rownd emulator. It honours the
 * `_rphConfig` commands the demo's @rowndHub() tag pushes and talks to the
 * session routes the way the real Hub does:
 *
 * - `setAppKey`, `setApiUrl`, `setPostAuthenticationApi`, `setPostSignOutApi`,
 *   `onLoaded` (other commands are accepted and ignored)
 * - `rownd.requestSignIn()` shows an email form; signing in asks the emulator
 *   for an access token (POST <api url>/__emulator/tokens { email }) instead
 *   of sending a real email
 * - after sign-in AND on every page load while signed in, it calls the
 *   post-authentication API: JSON body `{ access_token }` (or a Bearer header
 *   for `get`), the configured `extra_headers`, then follows `return_to` or
 *   reloads on `should_refresh_page`
 * - `rownd.signOut()` forgets the token and calls the post-sign-out API
 * - `rownd.getAccessToken()` resolves the current token (refreshed when close
 *   to expiry), or null when signed out
 *
 * The token lives in localStorage, like the Hub keeps its session.
 */
;(function () {
  'use strict'

  var STORAGE_KEY = 'rownd_stand_in_hub'
  var settings = {
    appKey: null,
    apiUrl: null,
    postAuthenticationApi: null,
    postSignOutApi: null,
  }
  var loaded = false
  var loadedCallbacks = []

  /* ---------- storage ---------- */

  function readSession() {
    try {
      var raw = window.localStorage.getItem(STORAGE_KEY)
      var parsed = raw ? JSON.parse(raw) : null
      return parsed && typeof parsed.access_token === 'string' ? parsed : null
    } catch (error) {
      return null
    }
  }

  function writeSession(session) {
    if (session) window.localStorage.setItem(STORAGE_KEY, JSON.stringify(session))
    else window.localStorage.removeItem(STORAGE_KEY)
  }

  /** Seconds until the token's exp claim (decoded only, never trusted for anything else) */
  function secondsLeft(token) {
    try {
      var payload = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')
      var claims = JSON.parse(window.atob(payload))
      return claims.exp - Date.now() / 1000
    } catch (error) {
      return -1
    }
  }

  /* ---------- talking to the emulator and to the app ---------- */

  function emulatorUrl(path) {
    if (!settings.apiUrl) throw new Error('stand-in Hub: no API URL (setApiUrl)')
    return settings.apiUrl + path
  }

  /** Asks the emulator for an access token, as the real Hub gets one after verification */
  function mintToken(email) {
    return fetch(emulatorUrl('/__emulator/tokens'), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: email }),
    }).then(function (response) {
      if (!response.ok)
        throw new Error('The emulator refused the sign-in (' + response.status + ')')
      return response.json()
    })
  }

  /** Calls a post-authentication / post-sign-out API like the Hub does */
  function callApi(api, token) {
    var method = String(api.method || 'post').toLowerCase()
    var headers = Object.assign({ Accept: 'application/json' }, api.extra_headers || {})
    var init = { method: method.toUpperCase(), headers: headers, credentials: 'same-origin' }
    if (token && method === 'get') {
      headers.Authorization = 'Bearer ' + token
    } else if (token) {
      headers['Content-Type'] = 'application/json'
      init.body = JSON.stringify({ access_token: token })
    }
    var controller = new AbortController()
    var timer = setTimeout(function () {
      controller.abort()
    }, api.timeout || 10000)
    init.signal = controller.signal
    return fetch(api.url, init)
      .then(function (response) {
        return response
          .json()
          .catch(function () {
            return {}
          })
          .then(function (body) {
            return { status: response.status, ok: response.ok, body: body || {} }
          })
      })
      .finally(function () {
        clearTimeout(timer)
      })
  }

  /** `return_to` wins over `should_refresh_page`, as with the Hub */
  function followResponse(body) {
    if (typeof body.return_to === 'string' && body.return_to) {
      window.location.assign(body.return_to)
      return true
    }
    if (body.should_refresh_page === true) {
      window.location.reload()
      return true
    }
    return false
  }

  /** Runs the post-authentication API with the current token */
  function postAuthenticate(token) {
    if (!settings.postAuthenticationApi) return Promise.resolve(null)
    return callApi(settings.postAuthenticationApi, token).then(function (result) {
      if (!result.ok) {
        var error = new Error(
          (result.body.errors && result.body.errors[0] && result.body.errors[0].message) ||
            'Sign-in failed (' + result.status + ')'
        )
        error.status = result.status
        error.code = result.body.errors && result.body.errors[0] && result.body.errors[0].code
        throw error
      }
      followResponse(result.body)
      return result
    })
  }

  /* ---------- public API: window.rownd ---------- */

  function getAccessToken() {
    var session = readSession()
    if (!session) return Promise.resolve(null)
    if (secondsLeft(session.access_token) > 60) return Promise.resolve(session.access_token)
    // Close to expiry: the Hub refreshes silently; the stand-in asks the emulator again
    return mintToken(session.email).then(function (minted) {
      writeSession({ access_token: minted.access_token, email: session.email })
      return minted.access_token
    })
  }

  function signIn(email) {
    return mintToken(email).then(function (minted) {
      writeSession({ access_token: minted.access_token, email: email })
      return postAuthenticate(minted.access_token).catch(function (error) {
        // Signing back in within the second of a sign-out: that second's tokens are revoked
        if (error.code !== 'E_ROWND_TOKEN_REVOKED') throw error
        return new Promise(function (resolve) {
          setTimeout(resolve, 1100)
        }).then(function () {
          return signIn(email)
        })
      })
    })
  }

  function signOut() {
    writeSession(null)
    if (!settings.postSignOutApi) {
      window.location.reload()
      return Promise.resolve()
    }
    return callApi(settings.postSignOutApi, null).then(function (result) {
      if (!followResponse(result.body)) window.location.reload()
    })
  }

  /* ---------- the sign-in form ---------- */

  var overlay = null

  function closeSignIn() {
    if (overlay) overlay.remove()
    overlay = null
  }

  function requestSignIn() {
    if (overlay) return
    overlay = document.createElement('div')
    overlay.setAttribute('data-testid', 'rownd-sign-in')
    overlay.style.cssText =
      'position:fixed;inset:0;background:rgba(20,22,35,.55);display:flex;align-items:center;' +
      'justify-content:center;z-index:2147483647;font-family:system-ui,sans-serif'
    overlay.innerHTML =
      '<form style="background:#fff;color:#1c2030;padding:1.6rem;border-radius:12px;width:320px;' +
      'box-shadow:0 10px 40px rgba(0,0,0,.25)">' +
      '<h2 style="margin:0 0 .3rem">Sign in</h2>' +
      '<p style="margin:0 0 1rem;color:#5a6072;font-size:.9rem">Stand-in Rownd Hub (emulator): ' +
      'any email signs in at once, no email is sent.</p>' +
      '<label style="display:block;font-size:.9rem">Email' +
      '<input name="email" type="email" required autocomplete="email" ' +
      'style="display:block;width:100%;box-sizing:border-box;margin:.3rem 0 1rem;padding:.5rem;' +
      'font:inherit;border:1px solid #c9cde0;border-radius:6px"></label>' +
      '<p data-testid="rownd-error" style="color:#b3261e;font-size:.9rem;margin:0 0 .6rem" hidden></p>' +
      '<button type="submit" style="font:inherit;padding:.5rem 1rem;border:0;border-radius:6px;' +
      'background:#4f5dff;color:#fff;cursor:pointer">Continue</button> ' +
      '<button type="button" data-close style="font:inherit;padding:.5rem 1rem;border:0;' +
      'border-radius:6px;background:#e4e6f0;color:#1c2030;cursor:pointer">Cancel</button>' +
      '</form>'
    var form = overlay.querySelector('form')
    var errorBox = overlay.querySelector('[data-testid="rownd-error"]')
    overlay.querySelector('[data-close]').addEventListener('click', closeSignIn)
    form.addEventListener('submit', function (event) {
      event.preventDefault()
      var submit = form.querySelector('button[type="submit"]')
      submit.disabled = true
      errorBox.hidden = true
      signIn(form.email.value.trim()).then(
        function (result) {
          // No redirect or reload asked for: just close the form
          if (!result || (!result.body.return_to && !result.body.should_refresh_page)) closeSignIn()
        },
        function (error) {
          submit.disabled = false
          errorBox.textContent = error.message
          errorBox.hidden = false
        }
      )
    })
    document.body.appendChild(overlay)
    form.email.focus()
  }

  /* ---------- _rphConfig commands ---------- */

  var commands = {
    setAppKey: function (value) {
      settings.appKey = value
    },
    setApiUrl: function (value) {
      settings.apiUrl = String(value).replace(/\/+$/, '')
    },
    setPostAuthenticationApi: function (value) {
      settings.postAuthenticationApi = value
    },
    setPostSignOutApi: function (value) {
      settings.postSignOutApi = value
    },
    onLoaded: function (callback) {
      if (loaded) callback()
      else loadedCallbacks.push(callback)
    },
  }

  function runCommand(entry) {
    if (!entry || typeof entry[0] !== 'string') return
    var handler = commands[entry[0]]
    if (handler) handler(entry[1])
  }

  var queued = Array.isArray(window._rphConfig) ? window._rphConfig : []
  window._rphConfig = {
    push: function () {
      for (var i = 0; i < arguments.length; i++) runCommand(arguments[i])
    },
  }
  queued.forEach(runCommand)

  window.rownd = {
    requestSignIn: requestSignIn,
    signOut: signOut,
    getAccessToken: getAccessToken,
    /** Stand-in only: which Hub is this */
    standIn: true,
  }

  /* ---------- HTML hooks and the page-load call ---------- */

  function start() {
    document.querySelectorAll('[data-rownd-sign-in-trigger]').forEach(function (element) {
      element.addEventListener('click', function (event) {
        if (readSession()) return
        event.preventDefault()
        requestSignIn()
      })
    })

    var session = readSession()
    var ready = session
      ? getAccessToken()
          .then(postAuthenticate)
          .catch(function (error) {
            // The app no longer accepts this token (revoked, unknown user...): signed out
            if (error.status === 401) writeSession(null)
          })
      : Promise.resolve()

    ready.then(function () {
      if (!readSession() && document.querySelector('[data-rownd-request-sign-in]')) {
        requestSignIn()
      }
      loaded = true
      loadedCallbacks.splice(0).forEach(function (callback) {
        callback()
      })
    })
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start)
  else start()
})()
