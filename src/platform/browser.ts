export const platformName = 'browser';
