// A Cloud HSM cluster reached over a private endpoint, composed from a module.

param clusterName string
param subnetId string

resource cluster 'Microsoft.HardwareSecurityModules/cloudHsmClusters@2025-03-31' = {
  name: clusterName
  location: resourceGroup().location
  sku: {
    family: 'B'
    name: 'Standard_B1'
  }
  properties: {
    publicNetworkAccess: 'Disabled'
  }
}

module endpoint 'modules/private-endpoint.bicep' = {
  name: '${clusterName}-endpoint'
  params: {
    clusterName: cluster.name
    subnetId: subnetId
  }
}

output endpointId string = endpoint.outputs.endpointId
output connectionState string = cluster.properties.privateEndpointConnections[0].properties.privateLinkServiceConnectionState.status
