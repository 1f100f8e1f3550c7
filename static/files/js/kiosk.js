import { setupPage } from './app.js';
setupPage('kiosk.title', async () => {});
