/**
 * Models from the account: which models the credentials in use can call in their region, asked of
 * Bedrock's control plane (control-plane.ts) and cached per credentials and region, with the
 * catalogue as the fallback (discovery.ts).
 */
export { createControlPlane, type AccountModel, type ControlPlane, type ControlPlaneOptions } from './control-plane.ts'
export {
  createDiscovery,
  menuFrom,
  DISCOVERY_TIMEOUT_MS,
  DISCOVERY_TTL_MS,
  MODELS_NOTE,
  PAGE_WAIT_MS,
  type Discovery,
  type DiscoveryOptions,
  type ModelChoice,
  type ModelMenu,
} from './discovery.ts'
