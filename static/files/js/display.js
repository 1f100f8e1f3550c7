import { setupPage } from './app.js';
setupPage('display.title', async () => {});
