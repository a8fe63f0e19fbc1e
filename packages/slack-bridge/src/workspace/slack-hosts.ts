// Where the bridge sends the bot token to read a file (`url_private`) or the bytes of a Matrix
// upload (`upload_url`): only to Slack itself. A file shared from another service can carry that
// service's URL in `url_private`, and the bot token must never reach it. Slack's own hosts are
// slack.com and its subdomains (files.slack.com), over https; a workspace whose `api_url` points
// elsewhere (GovSlack's slack-gov.com, a proxy, the emulator in tests) also trusts that origin and,
// over https, subdomains of its host. The address guard (MediaService.fetchRemote) applies as well.

/** True when `url` is on Slack's own hosts or the workspace's API origin. */
export function isSlackHostedUrl(url: URL, apiUrl: string): boolean {
  if (url.protocol === 'https:' && isHostOrSubdomain(url.hostname, 'slack.com')) return true;
  let api: URL;
  try {
    api = new URL(apiUrl);
  } catch {
    return false;
  }
  if (url.origin === api.origin) return true;
  return url.protocol === 'https:' && isHostOrSubdomain(url.hostname, api.hostname);
}

function isHostOrSubdomain(host: string, domain: string): boolean {
  const h = host.toLowerCase();
  const d = domain.toLowerCase();
  return h === d || h.endsWith(`.${d}`);
}
