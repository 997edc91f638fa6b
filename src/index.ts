import { platformName } from '#platform';
export const p = platformName;
