// The host studio: viewer count, chat, and the room's products with Pin and Unpin.
// The camera and go-live section stays a placeholder until the server relays live video.

import { ProductPanel } from "./products.js";
import { ChatForm, ChatView, bindRoomHeader, staffPage } from "./roomview.js";
import { $ } from "./ui.js";

const page = staffPage();
if (page) {
  const { room, channel, showError } = page;
  bindRoomHeader(channel);
  new ChatView($("[data-chat]"), { empty: $("[data-chat-empty]") }).follow(channel);
  new ChatForm($("[data-chat-form]"), channel);
  new ProductPanel($("[data-products-panel]"), channel, { room, onError: showError });
  channel.connect();
}
