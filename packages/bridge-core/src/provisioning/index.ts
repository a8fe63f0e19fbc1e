/** Authenticated provisioning API: link/unlink rooms from widgets, integration managers and scripts. */
export { ProvisioningApi, type RoomPowerChecker } from './api';
export { addLinkRoutes } from './link-routes';
export { provisioningOptionsFromConfig } from './from-config';
