// The emulator's options after defaults are applied: what its services read (EmulatorOptions in
// core.ts is what a spec passes).
export interface ResolvedConfig {
  serverName: string;
  queryTimeoutMs: number;
  queryRetries: number;
  pingTimeoutMs: number;
  pushTokenInQuery: boolean;
  legacyPushFallback: boolean;
  maxUploadBytes: number;
}
