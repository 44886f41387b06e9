/**
 * Finds duplicate keys in a JSON text. `JSON.parse` silently keeps the last
 * duplicate, so two parsers can read one token differently; Rownd never
 * sends duplicates, so a token that has them is rejected. Keys are compared
 * decoded (`"a"` and `"\u0061"` are the same key). Assumes the text is
 * otherwise valid JSON: callers parse it too.
 */
export function hasDuplicateKeys(text: string): boolean {
  const stack: Array<Set<string> | null> = []
  let expectKey = false
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i)
    if (char === 0x7b /* { */) {
      stack.push(new Set())
      expectKey = true
    } else if (char === 0x5b /* [ */) {
      stack.push(null)
      expectKey = false
    } else if (char === 0x7d /* } */ || char === 0x5d /* ] */) {
      stack.pop()
      expectKey = false
    } else if (char === 0x2c /* , */) {
      expectKey = stack.length > 0 && stack[stack.length - 1] !== null
    } else if (char === 0x22 /* " */) {
      const start = i
      let escaped = false
      for (i = i + 1; i < text.length; i++) {
        const c = text.charCodeAt(i)
        if (c === 0x5c /* \ */) {
          escaped = true
          i++
        } else if (c === 0x22) {
          break
        }
      }
      const keys = stack[stack.length - 1]
      if (expectKey && keys) {
        const raw = text.slice(start + 1, i)
        let key = raw
        if (escaped) {
          try {
            key = JSON.parse(`"${raw}"`)
          } catch {
            return true
          }
        }
        if (keys.has(key)) return true
        keys.add(key)
        expectKey = false
      }
    }
  }
  return false
}
