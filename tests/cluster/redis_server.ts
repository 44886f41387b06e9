import { spawn, execFile, type ChildProcess } from 'node:child_process'
import { createConnection, createServer } from 'node:net'
import { promisify } from 'node:util'

const exec = promisify(execFile)

/** A free loopback port, found by binding port 0 and releasing it */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

/** Resolves true when something answers PING with PONG on the port */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port })
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(500, () => done(false))
    socket.once('error', () => done(false))
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')))
  })
}

/**
 * A private, throw-away redis-server on a loopback port (no persistence),
 * so the cluster lane never touches a shared Redis and can kill its own.
 */
export class PrivateRedis {
  #process?: ChildProcess
  constructor(readonly port: number) {}

  static async start(): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort())
    await redis.start()
    return redis
  }

  async start() {
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--save', '', '--appendonly', 'no', '--bind', '127.0.0.1'],
      { stdio: 'ignore' }
    )
    this.#process = child
    const deadline = Date.now() + 10_000
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`)
      if (await ping(this.port)) return
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    throw new Error('redis-server did not start')
  }

  /** Kills the server (SIGKILL: an outage, not a shutdown) and waits for it to exit */
  async kill() {
    const child = this.#process
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGKILL')
    await exited
  }

  /** Runs redis-cli against the server */
  async cli(...args: string[]): Promise<string> {
    const { stdout } = await exec('redis-cli', ['-p', String(this.port), '--no-raw', ...args])
    return stdout
  }

  /** Every key with its value (strings, sets, hashes), for leak checks */
  async dump(): Promise<Map<string, string>> {
    const raw = await exec('redis-cli', ['-p', String(this.port), '--scan'])
    const result = new Map<string, string>()
    for (const key of raw.stdout.split('\n').filter(Boolean)) {
      const type = (await exec('redis-cli', ['-p', String(this.port), 'TYPE', key])).stdout.trim()
      const command =
        type === 'string'
          ? ['GET', key]
          : type === 'set'
            ? ['SMEMBERS', key]
            : type === 'hash'
              ? ['HGETALL', key]
              : type === 'list'
                ? ['LRANGE', key, '0', '-1']
                : ['ZRANGE', key, '0', '-1']
      const value = await exec('redis-cli', ['-p', String(this.port), ...command])
      result.set(key, value.stdout)
    }
    return result
  }
}
