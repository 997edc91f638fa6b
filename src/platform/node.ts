export const platformName = 'node';
