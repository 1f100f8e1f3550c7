import { setupPage } from './app.js';
setupPage('accessibility.title', async () => {});
