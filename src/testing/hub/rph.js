/*
 * rownd-adonis: a stand-in for the Rownd Hub, served by the RowndEmulator at
 * /static/scripts/rph.mjs (module) and /static/scripts/rph.js (nomodule),
 * where Rownd serves its own Hub. Rownd's loaders (the dashboard snippet,
 * @rownd/react, the @rowndHub() Edge tag) load it unchanged once their base
 * URL points at the emulator.
 *
 * Plain browser JavaScript, valid both as a module and as a classic script:
 * no import/export, no top-level `this`. Loading it twice on a page (module
 * plus nomodule, or a loader injecting its tags again) initialises it once.
 *
 * What it does, like the real Hub as far as a backend can tell:
 * - `_rphConfig.push([command, value])`: setBaseUrl, setAppKey, setApiUrl,
 *   setRootOrigin, setPostAuthenticationApi, setPostSignOutApi,
 *   setPostUserDataUpdateApi, setPostLoginRedirect,
 *   setPostRegistrationRedirect (and setPostRegistrationUrl),
 *   setPostSignOutCallback, setStateListener, setLocationHash, setLogLevel,
 *   onLoaded; other `set...` commands are accepted and ignored
 * - its own session in localStorage: an access token and a refresh token,
 *   refreshed through POST <api>/hub/auth/token before they expire
 * - sign-in: an email form; any email signs in through the emulator
 *   (POST <api>/__emulator/tokens), no email is sent
 * - the post-authentication API after sign-in AND on every page load while
 *   signed in; when the app refuses it (4xx) the token is refreshed once and
 *   the call made again; when that refresh fails the session is cleared
 * - `window.rownd`: requestSignIn, signOut, getAccessToken, user, auth,
 *   events, getAppConfig, as the docs and @rownd/react use them
 */
;(function () {
  'use strict'

  if (typeof window === 'undefined' || window.__rowndStandInHub) return
  window.__rowndStandInHub = { version: 1 }

  var STORAGE_KEY = 'rownd_stand_in_hub'
  var CLAIM = 'https://auth.rownd.io/'
  /** Tokens are refreshed when they have less than this many seconds left (or a quarter of their life) */
  var REFRESH_MARGIN = 60
  var DEFAULT_TIMEOUT = 10000

  var settings = {
    baseUrl: null,
    appKey: null,
    apiUrl: null,
    rootOrigin: null,
    locationHash: null,
    logLevel: null,
    postAuthenticationApi: null,
    postSignOutApi: null,
    postUserDataUpdateApi: null,
    postLoginRedirect: null,
    postRegistrationRedirect: null,
    postSignOutCallback: null,
  }

  /** The <script> that loaded us, for the API URL when no loader says it */
  var loaderScript =
    document.currentScript || document.querySelector('script[src*="/static/scripts/rph."]') || null

  var listeners = []
  var loadedCallbacks = []
  var loaded = false
  var events = new EventTarget()
  /** Bumped on every sign-in and sign-out: async work started before it stands down */
  var epoch = 0
  /** Refresh in flight, shared by every caller */
  var refreshing = null
  /** The post-authentication call in flight, aborted by a sign-out */
  var inFlight = null
  /** Data set through rownd.user before signing in, saved once signed in */
  var pendingUserData = null
  var appConfigPromise = null

  var state = {
    is_initializing: true,
    auth: emptyAuth(),
    user: emptyUser(false),
  }

  /* ---------- small helpers ---------- */

  function debug() {
    var level = settings.logLevel
    try {
      level = window.localStorage.getItem('rph_log_level') || level
    } catch (error) {
      // storage unavailable: keep the configured level
    }
    if (level !== 'debug' && level !== 'trace') return
    var args = ['[rownd stand-in hub]'].concat(Array.prototype.slice.call(arguments))
    console.debug.apply(console, args)
  }

  function trimSlash(url) {
    return String(url).replace(/\/+$/, '')
  }

  function apiBase() {
    if (settings.apiUrl) return trimSlash(settings.apiUrl)
    if (settings.baseUrl) return trimSlash(settings.baseUrl)
    if (loaderScript && loaderScript.src) return new URL(loaderScript.src).origin
    throw new Error('stand-in Hub: no API URL (setApiUrl or setBaseUrl)')
  }

  /** Claims of one of our tokens: decoded for display and expiry only, never trusted */
  function claimsOf(token) {
    try {
      var part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')
      while (part.length % 4) part += '='
      return JSON.parse(window.atob(part))
    } catch (error) {
      return null
    }
  }

  function secondsLeft(token) {
    var claims = claimsOf(token)
    return claims && typeof claims.exp === 'number' ? claims.exp - Date.now() / 1000 : -1
  }

  /** Whether a token should be refreshed before use: close to expiry, for its lifetime */
  function needsRefresh(token) {
    var claims = claimsOf(token)
    if (!claims || typeof claims.exp !== 'number') return true
    var lifetime = typeof claims.iat === 'number' ? claims.exp - claims.iat : REFRESH_MARGIN
    // Short-lived tokens would otherwise be refreshed on every read
    return secondsLeft(token) < Math.min(REFRESH_MARGIN, lifetime / 4)
  }

  function appIdOf(claims) {
    var audience = claims && claims.aud
    var list = Array.isArray(audience) ? audience : audience ? [audience] : []
    for (var i = 0; i < list.length; i++) {
      if (typeof list[i] === 'string' && list[i].indexOf('app:') === 0) return list[i].slice(4)
    }
    return undefined
  }

  function emptyAuth() {
    return { access_token: null, is_authenticated: false }
  }

  function emptyUser(isLoading) {
    return {
      data: {},
      groups: [],
      redacted_fields: [],
      verified_data: {},
      meta: {},
      instant_user: { is_initializing: false },
      is_loading: isLoading,
    }
  }

  function emit(type, detail) {
    debug('event', type)
    events.dispatchEvent(new CustomEvent(type, { detail: detail || {} }))
  }

  /* ---------- the session in localStorage ---------- */

  function readSession() {
    try {
      var parsed = JSON.parse(window.localStorage.getItem(STORAGE_KEY) || 'null')
      if (!parsed || typeof parsed.access_token !== 'string') return null
      if (typeof parsed.refresh_token !== 'string') return null
      // Another app's session on the same origin is not ours
      if (settings.appKey && parsed.app_key && parsed.app_key !== settings.appKey) return null
      return parsed
    } catch (error) {
      return null
    }
  }

  function writeSession(session) {
    try {
      if (session) {
        session.app_key = settings.appKey || undefined
        window.localStorage.setItem(STORAGE_KEY, JSON.stringify(session))
      } else {
        window.localStorage.removeItem(STORAGE_KEY)
      }
    } catch (error) {
      debug('cannot write the session to localStorage')
    }
  }

  /* ---------- state for setStateListener (@rownd/react reads it) ---------- */

  function syncAuth(session) {
    if (!session) {
      state.auth = emptyAuth()
      return
    }
    var claims = claimsOf(session.access_token) || {}
    state.auth = {
      access_token: session.access_token,
      app_id: appIdOf(claims),
      user_id: claims[CLAIM + 'app_user_id'],
      is_authenticated: true,
      is_verified_user: claims[CLAIM + 'is_verified_user'] === true,
      auth_level: claims[CLAIM + 'auth_level'],
    }
  }

  function syncUser(profile) {
    var user = emptyUser(false)
    if (profile) {
      user.data = Object.assign({}, profile.data)
      user.verified_data = Object.assign({}, profile.verified_data)
      user.groups = Array.isArray(profile.groups) ? profile.groups.slice() : []
      user.meta = Object.assign({}, profile.meta)
      user.auth_level = profile.auth_level
    }
    state.user = user
    applyFieldHooks()
  }

  function snapshot() {
    return JSON.parse(JSON.stringify(state))
  }

  function notify() {
    var current = snapshot()
    listeners.slice().forEach(function (listener) {
      try {
        listener({ state: current, api: api })
      } catch (error) {
        console.error('[rownd stand-in hub] a state listener threw', error)
      }
    })
  }

  /* ---------- HTTP ---------- */

  /** fetch with a timeout and an optional abort signal; resolves { status, ok, body } */
  function request(url, init, timeout, signal) {
    var controller = new AbortController()
    var timer = setTimeout(function () {
      controller.abort()
    }, timeout || DEFAULT_TIMEOUT)
    if (signal) {
      if (signal.aborted) controller.abort()
      else
        signal.addEventListener('abort', function () {
          controller.abort()
        })
    }
    init.signal = controller.signal
    return fetch(url, init)
      .then(function (response) {
        return response.text().then(function (text) {
          var body = {}
          try {
            body = text ? JSON.parse(text) : {}
          } catch (error) {
            body = {}
          }
          return { status: response.status, ok: response.ok, body: body || {} }
        })
      })
      .finally(function () {
        clearTimeout(timer)
      })
  }

  function rowndCall(method, path, body, token) {
    var headers = { Accept: 'application/json' }
    if (body !== undefined) headers['Content-Type'] = 'application/json'
    if (token) headers.Authorization = 'Bearer ' + token
    var url
    try {
      url = apiBase() + path
    } catch (error) {
      return Promise.reject(error)
    }
    return request(url, {
      method: method,
      headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    })
  }

  /** Calls one of the app's APIs (post-authentication, post-sign-out, user data update) */
  function callAppApi(config, token, body, signal) {
    var method = String(config.method || 'post').toLowerCase()
    var headers = Object.assign({ Accept: 'application/json' }, config.extra_headers || {})
    var init = { method: method.toUpperCase(), headers: headers, credentials: 'same-origin' }
    if (token && method === 'get') {
      headers.Authorization = 'Bearer ' + token
    } else if (token || body) {
      headers['Content-Type'] = 'application/json'
      init.body = JSON.stringify(Object.assign(token ? { access_token: token } : {}, body || {}))
    }
    return request(config.url, init, config.timeout, signal)
  }

  /** `return_to` wins over `should_refresh_page`, as with the Hub */
  function followResponse(body) {
    if (body && typeof body.return_to === 'string' && body.return_to) {
      window.location.assign(body.return_to)
      return true
    }
    if (body && body.should_refresh_page === true) {
      window.location.reload()
      return true
    }
    return false
  }

  /* ---------- tokens ---------- */

  /** Ends the session here, without asking anybody: storage, state, listeners, events */
  function dropSession() {
    epoch++
    if (inFlight) inFlight.abort()
    inFlight = null
    writeSession(null)
    syncAuth(null)
    syncUser(null)
    applyTriggerHooks()
    notify()
    emit('sign_out')
  }

  /**
   * Exchanges the refresh token once (shared by concurrent callers). A 4xx
   * means the session is over: it is cleared, the app told, and null returned.
   */
  function refresh() {
    if (refreshing) return refreshing
    var startedIn = epoch
    var session = readSession()
    if (!session) return Promise.resolve(null)
    debug('refreshing the access token')
    refreshing = rowndCall('POST', '/hub/auth/token', { refresh_token: session.refresh_token })
      .then(function (result) {
        // Signed out or in again meanwhile: this answer is stale
        if (epoch !== startedIn) return null
        if (result.ok && typeof result.body.access_token === 'string') {
          var next = Object.assign({}, readSession() || session, {
            access_token: result.body.access_token,
            refresh_token: result.body.refresh_token || session.refresh_token,
          })
          writeSession(next)
          syncAuth(next)
          notify()
          emit('auth', authDetail())
          return next.access_token
        }
        if (result.status >= 400 && result.status < 500) {
          debug('the refresh token was refused: signing out')
          endSessionAfterFailure()
          return null
        }
        throw new Error('Token refresh failed (' + result.status + ')')
      })
      .finally(function () {
        refreshing = null
      })
    return refreshing
  }

  /** Signed out because the session cannot be renewed: tell the app, follow only what it asks */
  function endSessionAfterFailure() {
    dropSession()
    if (!settings.postSignOutApi || !settings.postSignOutApi.url) return
    callAppApi(settings.postSignOutApi, null).then(
      function (result) {
        if (result.ok) followResponse(result.body)
      },
      function () {
        debug('post-sign-out API unreachable')
      }
    )
  }

  function authDetail() {
    return {
      access_token: state.auth.access_token,
      user_id: state.auth.user_id,
      app_id: state.auth.app_id,
    }
  }

  function waitForToken() {
    return new Promise(function (resolve) {
      events.addEventListener(
        'auth',
        function (event) {
          resolve(event.detail.access_token)
        },
        { once: true }
      )
    })
  }

  function getAccessToken(options) {
    var wait = !!(options && options.waitForToken)
    var session = readSession()
    if (!session) return wait ? waitForToken() : Promise.resolve(null)
    if (!needsRefresh(session.access_token)) return Promise.resolve(session.access_token)
    return refresh()
      .catch(function () {
        // Rownd unreachable: the current token may still have a little life
        var current = readSession()
        return current && secondsLeft(current.access_token) > 0 ? current.access_token : null
      })
      .then(function (token) {
        if (token || !wait) return token
        return waitForToken()
      })
  }

  /* ---------- user data ---------- */

  function appIdForCalls() {
    return state.auth.app_id
  }

  function loadUserData() {
    var startedIn = epoch
    state.user.is_loading = true
    notify()
    return getAccessToken()
      .then(function (token) {
        if (!token || epoch !== startedIn) return null
        return rowndCall(
          'GET',
          '/me/applications/' + encodeURIComponent(appIdForCalls()) + '/data',
          undefined,
          token
        )
      })
      .then(function (result) {
        if (epoch !== startedIn) return
        if (result && result.ok) syncUser(result.body)
        else state.user.is_loading = false
        notify()
      })
      .catch(function () {
        if (epoch !== startedIn) return
        state.user.is_loading = false
        notify()
      })
  }

  /** Saves the user's data (replacing it), then tells the app through its user data update API */
  function saveUserData(data) {
    var startedIn = epoch
    return getAccessToken().then(function (token) {
      if (!token) {
        // Not signed in: kept here and saved at sign-in, as the Hub does
        pendingUserData = Object.assign({}, data)
        state.user.data = Object.assign({}, data)
        notify()
        return Object.assign({}, state.user.data)
      }
      return rowndCall(
        'PUT',
        '/me/applications/' + encodeURIComponent(appIdForCalls()) + '/data',
        { data: data },
        token
      ).then(function (result) {
        if (!result.ok) throw new Error('Saving the user data failed (' + result.status + ')')
        if (epoch !== startedIn) return Object.assign({}, result.body.data)
        syncUser(result.body)
        notify()
        emit('user_data', { data: Object.assign({}, state.user.data) })
        var updateApi = settings.postUserDataUpdateApi
        if (updateApi && updateApi.url) {
          callAppApi(updateApi, null, { user_data: Object.assign({}, state.user.data) }).then(
            function (answer) {
              if (answer.ok) followResponse(answer.body)
            },
            function () {
              debug('post-user-data-update API unreachable')
            }
          )
        }
        return Object.assign({}, state.user.data)
      })
    })
  }

  function userWithout(keys) {
    var data = Object.assign({}, state.user.data)
    keys.forEach(function (key) {
      delete data[key]
    })
    return data
  }

  /* ---------- the post-authentication API ---------- */

  /**
   * Calls the app's post-authentication API with the current token. When
   * the app refuses it (4xx), the token is refreshed once and the call made
   * again; a failed refresh ends the session. A sign-out meanwhile aborts
   * it all. Resolves { status, body, followed } or null (skipped, aborted).
   */
  function postAuthenticate() {
    var config = settings.postAuthenticationApi
    if (!config || !config.url) return Promise.resolve(null)
    var startedIn = epoch
    var controller = new AbortController()
    inFlight = controller

    function call(token) {
      if (!token || epoch !== startedIn) return Promise.resolve(null)
      return callAppApi(config, token, null, controller.signal)
    }

    return getAccessToken()
      .then(call)
      .then(function (result) {
        if (!result || epoch !== startedIn) return null
        if (result.status < 400 || result.status >= 500) return result
        debug('the app refused the token (' + result.status + '): refreshing once')
        return refresh().then(function (token) {
          if (epoch !== startedIn) return null
          return token ? call(token) : result
        })
      })
      .then(
        function (result) {
          if (inFlight === controller) inFlight = null
          if (!result || epoch !== startedIn) return null
          result.followed = result.ok ? followResponse(result.body) : false
          return result
        },
        function (error) {
          if (inFlight === controller) inFlight = null
          if (epoch !== startedIn) return null
          throw error
        }
      )
  }

  /* ---------- sign-in and sign-out ---------- */

  function signInWithEmail(email, options) {
    options = options || {}
    return rowndCall('POST', '/__emulator/tokens', { email: email }).then(function (minted) {
      if (!minted.ok) {
        var reason = (minted.body && minted.body.message) || 'status ' + minted.status
        emit('sign_in_failed', { reason: reason })
        throw new Error('The emulator refused the sign-in (' + reason + ')')
      }
      epoch++
      if (inFlight) inFlight.abort()
      var session = {
        access_token: minted.body.access_token,
        refresh_token: minted.body.refresh_token,
      }
      writeSession(session)
      syncAuth(session)
      syncUser(null)
      applyTriggerHooks()
      notify()
      emit('auth', authDetail())
      emit('sign_in_completed', { method: 'email', user_type: minted.body.user_type })

      var extra = Object.assign({}, pendingUserData || {}, options.user_data || {})
      pendingUserData = null
      var saved = Object.keys(extra).length
        ? loadUserData().then(function () {
            return saveUserData(Object.assign({}, state.user.data, extra)).catch(function () {
              debug('saving the data set before sign-in failed')
            })
          })
        : loadUserData()

      return saved.then(postAuthenticate).then(function (result) {
        if (!readSession()) throw new Error('Signed out: the session could not be renewed')
        if (result && !result.ok) {
          var errors = result.body && result.body.errors
          var message = (errors && errors[0] && errors[0].message) || 'status ' + result.status
          throw new Error('Sign-in failed: ' + message)
        }
        if (result && result.followed) return result
        var redirect =
          options.post_login_redirect ||
          (minted.body.user_type === 'new_user' && settings.postRegistrationRedirect) ||
          settings.postLoginRedirect
        if (redirect && options.redirect !== false) {
          window.location.assign(redirect)
          return { followed: true }
        }
        return result || { followed: false }
      })
    })
  }

  function signOut() {
    var session = readSession()
    if (!session) {
      // Nothing to end here: a page may ask again after the sign-out it caused
      if (state.auth.access_token) dropSession()
      return Promise.resolve()
    }
    var appId = state.auth.app_id
    dropSession()
    // Ends the session at Rownd too, so its refresh token stops working
    var revoked = appId
      ? rowndCall(
          'POST',
          '/me/applications/' + encodeURIComponent(appId) + '/signout',
          {},
          session.access_token
        ).catch(function () {
          debug('revoking the Rownd session failed')
        })
      : Promise.resolve()
    return revoked.then(function () {
      if (typeof settings.postSignOutCallback === 'function') {
        try {
          settings.postSignOutCallback()
        } catch (error) {
          console.error('[rownd stand-in hub] the post-sign-out callback threw', error)
        }
      }
      if (!settings.postSignOutApi || !settings.postSignOutApi.url) {
        window.location.reload()
        return
      }
      return callAppApi(settings.postSignOutApi, null).then(
        function (result) {
          if (!followResponse(result.body)) window.location.reload()
        },
        function () {
          window.location.reload()
        }
      )
    })
  }

  /* ---------- dialogs ---------- */

  var overlay = null

  function closeOverlay() {
    if (overlay) overlay.remove()
    overlay = null
  }

  var FORM_STYLE =
    'background:#fff;color:#1c2030;padding:1.6rem;border-radius:12px;width:320px;' +
    'box-shadow:0 10px 40px rgba(0,0,0,.25)'
  var INPUT_STYLE =
    'display:block;width:100%;box-sizing:border-box;margin:.3rem 0 1rem;padding:.5rem;' +
    'font:inherit;border:1px solid #c9cde0;border-radius:6px'
  var BUTTON_STYLE = 'font:inherit;padding:.5rem 1rem;border:0;border-radius:6px;cursor:pointer;'

  function element(tag, attributes, children) {
    var node = document.createElement(tag)
    Object.keys(attributes || {}).forEach(function (name) {
      if (name === 'text') node.textContent = attributes[name]
      else node.setAttribute(name, attributes[name])
    })
    ;(children || []).forEach(function (child) {
      node.appendChild(child)
    })
    return node
  }

  function openOverlay(testId, form) {
    closeOverlay()
    overlay = element('div', {
      'data-testid': testId,
      'style':
        'position:fixed;inset:0;background:rgba(20,22,35,.55);display:flex;align-items:center;' +
        'justify-content:center;z-index:2147483647;font-family:system-ui,sans-serif',
    })
    overlay.appendChild(form)
    document.body.appendChild(overlay)
  }

  function requestSignIn(options) {
    options = options || {}
    if (overlay && overlay.getAttribute('data-testid') === 'rownd-sign-in') return
    var email = element('input', {
      name: 'email',
      type: 'email',
      required: '',
      autocomplete: 'email',
      style: INPUT_STYLE,
    })
    if (typeof options.identifier === 'string' && options.identifier.indexOf('@') !== -1) {
      email.value = options.identifier
    }
    var errorBox = element('p', {
      'data-testid': 'rownd-error',
      'style': 'color:#b3261e;font-size:.9rem;margin:0 0 .6rem',
    })
    errorBox.hidden = true
    var submit = element('button', {
      type: 'submit',
      style: BUTTON_STYLE + 'background:#4f5dff;color:#fff',
      text: 'Continue',
    })
    var buttons = [submit]
    if (!options.prevent_closing) {
      var cancel = element('button', {
        'type': 'button',
        'data-close': '',
        'style': BUTTON_STYLE + 'background:#e4e6f0;color:#1c2030;margin-left:.3rem',
        'text': 'Cancel',
      })
      cancel.addEventListener('click', closeOverlay)
      buttons.push(cancel)
    }
    var form = element(
      'form',
      { style: FORM_STYLE },
      [
        element('h2', { style: 'margin:0 0 .3rem', text: 'Sign in' }),
        element('p', {
          style: 'margin:0 0 1rem;color:#5a6072;font-size:.9rem',
          text: 'Stand-in Rownd Hub (emulator): any email signs in at once, no email is sent.',
        }),
        element('label', { style: 'display:block;font-size:.9rem' }, [
          document.createTextNode('Email'),
          email,
        ]),
        errorBox,
      ].concat(buttons)
    )
    form.addEventListener('submit', function (event) {
      event.preventDefault()
      submit.disabled = true
      errorBox.hidden = true
      signInWithEmail(email.value.trim(), options).then(
        function (result) {
          // Nothing to navigate to: just close the form
          if (!result || !result.followed) closeOverlay()
        },
        function (error) {
          submit.disabled = false
          errorBox.textContent = error.message
          errorBox.hidden = false
        }
      )
    })
    openOverlay('rownd-sign-in', form)
    email.focus()
    if (options.auto_sign_in && email.value) form.requestSubmit()
  }

  /** A small profile editor: first and last name, and a sign-out button */
  function manageAccount() {
    if (!readSession()) return requestSignIn()
    var fields = ['first_name', 'last_name'].map(function (name) {
      var input = element('input', { name: name, style: INPUT_STYLE })
      input.value = state.user.data[name] == null ? '' : String(state.user.data[name])
      return input
    })
    var save = element('button', {
      type: 'submit',
      style: BUTTON_STYLE + 'background:#4f5dff;color:#fff',
      text: 'Save',
    })
    var out = element('button', {
      'type': 'button',
      'data-testid': 'rownd-account-sign-out',
      'style': BUTTON_STYLE + 'background:#e4e6f0;color:#1c2030;margin-left:.3rem',
      'text': 'Sign out',
    })
    var close = element('button', {
      'type': 'button',
      'data-close': '',
      'style': BUTTON_STYLE + 'background:#e4e6f0;color:#1c2030;margin-left:.3rem',
      'text': 'Close',
    })
    var form = element('form', { style: FORM_STYLE }, [
      element('h2', { style: 'margin:0 0 .3rem', text: 'Your account' }),
      element('p', {
        style: 'margin:0 0 1rem;color:#5a6072;font-size:.9rem',
        text: String(state.user.data.email || state.auth.user_id || ''),
      }),
      element('label', { style: 'display:block;font-size:.9rem' }, [
        document.createTextNode('First name'),
        fields[0],
      ]),
      element('label', { style: 'display:block;font-size:.9rem' }, [
        document.createTextNode('Last name'),
        fields[1],
      ]),
      save,
      out,
      close,
    ])
    out.addEventListener('click', function () {
      closeOverlay()
      signOut()
    })
    close.addEventListener('click', closeOverlay)
    form.addEventListener('submit', function (event) {
      event.preventDefault()
      save.disabled = true
      var data = Object.assign({}, state.user.data)
      fields.forEach(function (input) {
        data[input.name] = input.value.trim() || null
      })
      saveUserData(data).then(closeOverlay, function () {
        save.disabled = false
      })
    })
    openOverlay('rownd-account', form)
  }

  /* ---------- HTML hooks (data-rownd-*) ---------- */

  function signedIn() {
    return !!state.auth.access_token
  }

  function applyTriggerHooks() {
    document.querySelectorAll('[data-rownd-sign-in-trigger]').forEach(function (node) {
      if (!node.__rowndBound) {
        node.__rowndBound = true
        node.__rowndText = node.textContent
        node.addEventListener('click', function (event) {
          if (!signedIn()) {
            event.preventDefault()
            requestSignIn({
              identifier: node.getAttribute('data-rownd-default-user-identifier') || undefined,
            })
            return
          }
          var target = node.getAttribute('data-rownd-authenticated-redirect-url')
          if (target) {
            event.preventDefault()
            window.location.assign(target)
          }
        })
      }
      var signedInText = node.getAttribute('data-rownd-authenticated-text')
      if (signedInText !== null) node.textContent = signedIn() ? signedInText : node.__rowndText
    })
  }

  var templates = new WeakMap()

  function applyFieldHooks() {
    if (!document.body) return
    var data = state.user.data || {}
    document.querySelectorAll('[data-rownd-field-mapping]').forEach(function (node) {
      var value = data[node.getAttribute('data-rownd-field-mapping')]
      var text = value == null ? '' : String(value)
      if (node.tagName === 'IMG') {
        if (text) node.setAttribute('src', text)
        else node.removeAttribute('src')
      } else {
        node.textContent = text
      }
    })
    document.querySelectorAll('[data-rownd-field-interpolate]').forEach(function (root) {
      var walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT)
      for (var node = walker.nextNode(); node; node = walker.nextNode()) {
        if (!templates.has(node)) {
          if (node.nodeValue.indexOf('{{') === -1) continue
          templates.set(node, node.nodeValue)
        }
        node.nodeValue = templates.get(node).replace(/\{\{\s*([\w.-]+)\s*\}\}/g, function (_, key) {
          return data[key] == null ? '' : String(data[key])
        })
      }
    })
  }

  function applySignInRequestHooks() {
    if (signedIn()) return
    var node = document.querySelector('[data-rownd-require-sign-in], [data-rownd-request-sign-in]')
    if (!node) return
    var requireValue = node.getAttribute('data-rownd-require-sign-in')
    var requestValue = node.getAttribute('data-rownd-request-sign-in')
    requestSignIn({
      prevent_closing: requireValue !== null,
      identifier: node.getAttribute('data-rownd-default-user-identifier') || undefined,
      auto_sign_in: (requireValue || requestValue) === 'auto-submit',
    })
  }

  /* ---------- window.rownd ---------- */

  function unsupported(what) {
    return function () {
      return Promise.reject(new Error(what + ' is not available in the stand-in Hub'))
    }
  }

  function getAppConfig() {
    appConfigPromise =
      appConfigPromise ||
      Promise.resolve()
        .then(function () {
          return request(apiBase() + '/hub/app-config', {
            method: 'GET',
            headers: { 'Accept': 'application/json', 'x-rownd-app-key': settings.appKey || '' },
          })
        })
        .then(function (result) {
          if (!result.ok) {
            appConfigPromise = null
            throw new Error('App config unavailable (' + result.status + ')')
          }
          return result.body.app
        })
    return appConfigPromise
  }

  var api = {
    requestSignIn: requestSignIn,
    signOut: signOut,
    getAccessToken: getAccessToken,
    getAppConfig: getAppConfig,
    user: {
      get: function () {
        return Promise.resolve(Object.assign({}, state.user.data))
      },
      set: function (data) {
        return saveUserData(Object.assign({}, data || {}))
      },
      setValue: function (name, value) {
        var data = userWithout([])
        data[name] = value
        return saveUserData(data)
      },
      manageAccount: manageAccount,
      uploadFile: unsupported('rownd.user.uploadFile'),
    },
    auth: {
      isVerifiedUser: function () {
        return state.auth.is_verified_user === true
      },
      passkeys: {
        promptForPasskeyRegistration: unsupported('Passkeys'),
        authenticate: unsupported('Passkeys'),
      },
    },
    firebase: { getIdToken: unsupported('rownd.firebase.getIdToken') },
    events: {
      addEventListener: events.addEventListener.bind(events),
      removeEventListener: events.removeEventListener.bind(events),
    },
    LoginStep: {
      INIT: 'init',
      NoAccount: 'no_account',
      Success: 'success',
      Error: 'error',
      Completing: 'completing',
    },
    /** Stand-in only: which Hub this is */
    standIn: true,
  }

  /* ---------- _rphConfig commands ---------- */

  function setter(name) {
    return function (value) {
      settings[name] = value
    }
  }

  var commands = {
    setBaseUrl: setter('baseUrl'),
    setAppKey: setter('appKey'),
    setApiUrl: setter('apiUrl'),
    setRootOrigin: setter('rootOrigin'),
    setLocationHash: setter('locationHash'),
    setLogLevel: setter('logLevel'),
    setPostAuthenticationApi: setter('postAuthenticationApi'),
    setPostSignOutApi: setter('postSignOutApi'),
    setPostUserDataUpdateApi: setter('postUserDataUpdateApi'),
    setPostLoginRedirect: setter('postLoginRedirect'),
    setPostRegistrationRedirect: setter('postRegistrationRedirect'),
    setPostRegistrationUrl: setter('postRegistrationRedirect'),
    setPostSignOutCallback: setter('postSignOutCallback'),
    setStateListener: function (listener) {
      // Loaders push the same listener again on every render: register it once
      if (typeof listener !== 'function' || listeners.indexOf(listener) !== -1) return
      listeners.push(listener)
      var current = snapshot()
      queueMicrotask(function () {
        try {
          listener({ state: current, api: api })
        } catch (error) {
          console.error('[rownd stand-in hub] a state listener threw', error)
        }
      })
    },
    onLoaded: function (callback) {
      if (typeof callback !== 'function') return
      if (loaded) callback()
      else loadedCallbacks.push(callback)
    },
  }

  function runCommand(entry) {
    if (!Array.isArray(entry) || typeof entry[0] !== 'string') return
    var handler = commands[entry[0]]
    if (handler) {
      try {
        handler(entry[1])
      } catch (error) {
        console.error('[rownd stand-in hub] command ' + entry[0] + ' failed', error)
      }
    } else {
      debug('ignored command', entry[0])
    }
  }

  var queued = Array.isArray(window._rphConfig) ? window._rphConfig.slice() : []
  window._rphConfig = {
    push: function () {
      for (var i = 0; i < arguments.length; i++) runCommand(arguments[i])
      return 0
    },
  }
  window.rownd = api
  queued.forEach(runCommand)

  /* ---------- start ---------- */

  // Another tab signed in or out: follow it
  window.addEventListener('storage', function (event) {
    if (event.key !== STORAGE_KEY && event.key !== null) return
    var session = readSession()
    if ((session && session.access_token) === state.auth.access_token) return
    epoch++
    syncAuth(session)
    applyTriggerHooks()
    notify()
    if (session) loadUserData()
    else syncUser(null)
  })

  function finishLoading() {
    loaded = true
    loadedCallbacks.splice(0).forEach(function (callback) {
      try {
        callback()
      } catch (error) {
        console.error('[rownd stand-in hub] an onLoaded callback threw', error)
      }
    })
  }

  function start() {
    var session = readSession()
    syncAuth(session)
    applyTriggerHooks()
    applyFieldHooks()
    // A token about to expire is refreshed before anybody reads it
    var ready = session ? getAccessToken().catch(function () {}) : Promise.resolve(null)
    ready.then(function (token) {
      state.is_initializing = false
      notify()
      if (!token) {
        finishLoading()
        applySignInRequestHooks()
        return
      }
      loadUserData()
      // Started before the onLoaded callbacks run, so a sign-out they ask
      // for (the page's sign-out instruction) cancels it
      var pageLoad = postAuthenticate().catch(function () {
        debug('post-authentication API unreachable')
      })
      finishLoading()
      pageLoad.then(function () {
        if (!readSession()) applySignInRequestHooks()
      })
    })
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start)
  else start()
})()
