import { setupPage } from './app.js';
setupPage('staff.title', async () => {});
