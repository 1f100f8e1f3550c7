import { setupPage } from './app.js';
setupPage('admin.title', async () => {});
