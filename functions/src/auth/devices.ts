/**
 * A readable name for the client a session was last used from, from its User-Agent (bowser):
 * "Chrome 131 on Linux", "Safari 17 on iOS (iPhone)". What bowser does not know — an app's own
 * HTTP client, curl — is named by the first word of its User-Agent, never the whole string,
 * which the client writes.
 */
import Bowser from 'bowser';

export function deviceName(userAgent: string | null): string {
  if (!userAgent) return 'Unknown client (no User-Agent)';
  const { browser, os, platform } = Bowser.parse(userAgent);
  if (!browser.name) {
    const product = /^[\w.-]{1,40}(?:\/[\w.]{1,20})?/.exec(userAgent)?.[0];
    return product ? `${product} (an app or a script)` : 'Unknown client';
  }
  const major = browser.version?.split('.')[0];
  const model = platform.model ? ` (${platform.model})` : '';
  return `${browser.name}${major ? ` ${major}` : ''}${os.name ? ` on ${os.name}${model}` : ''}`;
}
