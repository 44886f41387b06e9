/**
 * @rownd/react 2.2.0 runs its Hub loader again whenever the Hub's state
 * changes, adding another identical pair of rph.mjs / rph.js script tags
 * each time. Browsers do not run the copies (a module runs once per URL, a
 * nomodule script not at all), so this only keeps the page tidy: a copy is
 * removed as soon as it is added, one pair stays.
 */
export function keepOneHubLoader() {
  new MutationObserver((records) => {
    for (const record of records) {
      for (const node of record.addedNodes) {
        if (!(node instanceof HTMLScriptElement)) continue
        if (!/\/static\/scripts\/rph\.m?js$/.test(node.src)) continue
        const copies = Array.from(document.scripts).filter((script) => script.src === node.src)
        if (copies.length > 1) node.remove()
      }
    }
  }).observe(document.documentElement, { childList: true, subtree: true })
}
