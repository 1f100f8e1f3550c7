import { setupPage } from './app.js';
setupPage('ticket.title', async () => {});
