import { Backup2MqttCard, CARD_TYPE } from "./card.js";
import { pageLanguage, WORDS } from "./words.js";

declare global {
  interface Window {
    customCards?: { type: string; name: string; description: string; preview?: boolean; documentationURL?: string }[];
  }
}

if (!customElements.get(CARD_TYPE)) {
  customElements.define(CARD_TYPE, Backup2MqttCard);
  window.customCards = window.customCards || [];
  window.customCards.push({
    type: CARD_TYPE,
    name: "backup2mqtt",
    description: WORDS[pageLanguage()].description,
    preview: true,
    documentationURL: "https://github.com/backup2mqtt/backup2mqtt/tree/main/ha-integration",
  });
}

export { Backup2MqttCard };
