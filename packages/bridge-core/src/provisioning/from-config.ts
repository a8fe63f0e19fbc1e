/** Map the config file's `provisioning:` section onto ProvisioningOptions. */
import type { CoreConfig } from '../config/schema';
import type { ProvisioningOptions } from './api';

/** `homeserver`: the bridge's own, whose users' OpenID tokens are looked up at its configured URL. */
export function provisioningOptionsFromConfig(
  cfg: CoreConfig['provisioning'],
  deps: Pick<ProvisioningOptions, 'store' | 'powerChecker' | 'log' | 'auditLog'> & Partial<ProvisioningOptions>,
  homeserver?: Pick<CoreConfig['homeserver'], 'domain' | 'url'>,
): ProvisioningOptions {
  return {
    secret: cfg.secret,
    prefix: cfg.path_prefix,
    rateLimit: {
      enabled: cfg.rate_limit.enabled,
      perUserPerMinute: cfg.rate_limit.per_user_per_minute,
      perIpPerMinute: cfg.rate_limit.per_ip_per_minute,
    },
    trustedProxies: cfg.trusted_proxies,
    openId: {
      allowedIps: cfg.openid.allowed_ips,
      timeoutMs: cfg.openid.timeout_ms,
      maxResponseBytes: cfg.openid.max_response_bytes,
      overrides: cfg.openid.overrides,
      homeserver: homeserver && { domain: homeserver.domain, url: homeserver.url },
    },
    ...deps,
  };
}
