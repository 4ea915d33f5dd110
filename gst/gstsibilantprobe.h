// sibilantprobe: a pass-through audio filter that runs sibilant's
// no-reference probe on the audio flowing through it and posts its events
// and summaries as element messages (README: "GStreamer element").
#pragma once

#include <gst/base/gstbasetransform.h>
#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_SIBILANT_PROBE (gst_sibilant_probe_get_type())
G_DECLARE_FINAL_TYPE(GstSibilantProbe, gst_sibilant_probe, GST, SIBILANT_PROBE, GstBaseTransform)

GST_ELEMENT_REGISTER_DECLARE(sibilantprobe);

G_END_DECLS
