// What an openai-realtime agent needs from its instance: the voice channel's OpenAI key (seed 003), or a clear refusal.
import { SecretBoxError, type SecretBox } from '../../auth/secret-box.js';
import type { VoiceChannelStore } from '../../store/voice-channels.js';
import { AppError } from '../../util/errors.js';

/** The instance's `openai_api_key`; `conflict` when it is not set or no longer opens. Never log what it returns. */
export async function openAiKey(channels: VoiceChannelStore, box: SecretBox, instanceId: string): Promise<string> {
  let key: string | undefined;
  try {
    key = (await channels.credentials(instanceId, box)).openai_api_key;
  } catch (err) {
    if (!(err instanceof SecretBoxError)) throw err;
    throw new AppError('conflict', 'the voice channel credentials no longer open (the secret key changed): set the voice channel up again');
  }
  if (!key) throw new AppError('conflict', 'openai-realtime agents need the voice channel\'s openai_api_key (POST /v1/instances/{instance_id}/channels/voice)');
  return key;
}
