/*
 * The libsrtp 3 API mediasoup uses, on top of Debian's libsrtp2: libsrtp 3 takes separate
 * in/out buffers with size_t lengths, libsrtp2 works in place with int lengths. C++ overloads
 * keep the libsrtp2 C symbols untouched.
 */
#ifndef ASTRAL_COMPAT_SRTP3_ON_SRTP2_H
#define ASTRAL_COMPAT_SRTP3_ON_SRTP2_H
#include <srtp2/srtp.h>
#ifdef __cplusplus
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>

/* Error codes new in libsrtp 3 (libsrtp2 never returns them). */
static constexpr srtp_err_status_t srtp_err_status_buffer_small = static_cast<srtp_err_status_t>(28);
static constexpr srtp_err_status_t srtp_err_status_cryptex_err = static_cast<srtp_err_status_t>(29);

namespace astral_srtp_compat
{
	/* Copies the input into the output buffer, where libsrtp2 then works in place. */
	inline srtp_err_status_t CopyIn(
	  const uint8_t* in, size_t inLen, uint8_t* out, size_t outCap, size_t trailer, int* len)
	{
		if (inLen > static_cast<size_t>(INT_MAX) - trailer || outCap < inLen + trailer)
			return srtp_err_status_buffer_small;
		if (out != in)
			std::memmove(out, in, inLen);
		*len = static_cast<int>(inLen);
		return srtp_err_status_ok;
	}

	template<typename Op>
	inline srtp_err_status_t Run(
	  const uint8_t* in, size_t inLen, uint8_t* out, size_t* outLen, size_t trailer, Op op)
	{
		int len{ 0 };
		srtp_err_status_t err = CopyIn(in, inLen, out, *outLen, trailer, &len);
		if (err != srtp_err_status_ok)
			return err;
		err = op(out, &len);
		if (err == srtp_err_status_ok)
			*outLen = static_cast<size_t>(len);
		return err;
	}
} // namespace astral_srtp_compat

inline srtp_err_status_t srtp_protect(
  srtp_t ctx, const uint8_t* rtp, size_t rtpLen, uint8_t* srtp, size_t* srtpLen, size_t mki)
{
	return astral_srtp_compat::Run(rtp, rtpLen, srtp, srtpLen, SRTP_MAX_TRAILER_LEN, [&](uint8_t* b, int* l) {
		return mki == 0 ? srtp_protect(ctx, b, l) : srtp_protect_mki(ctx, b, l, 1, static_cast<unsigned int>(mki));
	});
}

inline srtp_err_status_t srtp_unprotect(
  srtp_t ctx, const uint8_t* srtp, size_t srtpLen, uint8_t* rtp, size_t* rtpLen)
{
	return astral_srtp_compat::Run(
	  srtp, srtpLen, rtp, rtpLen, 0, [&](uint8_t* b, int* l) { return srtp_unprotect(ctx, b, l); });
}

inline srtp_err_status_t srtp_protect_rtcp(
  srtp_t ctx, const uint8_t* rtcp, size_t rtcpLen, uint8_t* srtcp, size_t* srtcpLen, size_t mki)
{
	return astral_srtp_compat::Run(rtcp, rtcpLen, srtcp, srtcpLen, SRTP_MAX_TRAILER_LEN + 4, [&](uint8_t* b, int* l) {
		return mki == 0 ? srtp_protect_rtcp(ctx, b, l)
		                : srtp_protect_rtcp_mki(ctx, b, l, 1, static_cast<unsigned int>(mki));
	});
}

inline srtp_err_status_t srtp_unprotect_rtcp(
  srtp_t ctx, const uint8_t* srtcp, size_t srtcpLen, uint8_t* rtcp, size_t* rtcpLen)
{
	return astral_srtp_compat::Run(
	  srtcp, srtcpLen, rtcp, rtcpLen, 0, [&](uint8_t* b, int* l) { return srtp_unprotect_rtcp(ctx, b, l); });
}

/* libsrtp 3 renamed srtp_remove_stream(). */
inline srtp_err_status_t srtp_stream_remove(srtp_t session, uint32_t ssrc)
{
	return srtp_remove_stream(session, ssrc);
}
#endif /* __cplusplus */
#endif /* ASTRAL_COMPAT_SRTP3_ON_SRTP2_H */
