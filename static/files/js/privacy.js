import { setupPage } from './app.js';
setupPage('privacy.title', async () => {});
