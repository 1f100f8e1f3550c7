import { setupPage } from './app.js';
setupPage('stats.title', async () => {});
